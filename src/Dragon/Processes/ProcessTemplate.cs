using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon;

/// <summary>
/// What to start: a native executable with arguments, or a static C# method of this program with serializable
/// arguments; with its working directory, environment, standard streams and placement.
/// </summary>
public sealed record ProcessTemplate
{
    private ProcessTemplate(string program, IReadOnlyList<string> args, MethodInfo? method, IReadOnlyList<object?>? methodArgs)
    {
        Program = program;
        Args = args;
        Method = method;
        MethodArgs = methodArgs;
    }

    /// <summary>The executable (a path, or a name looked up on PATH); for a method target, the .NET host.</summary>
    public string Program { get; }

    /// <summary>Arguments passed to the executable.</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>The static method run instead of <c>Main</c>, for a method target.</summary>
    public MethodInfo? Method { get; }

    /// <summary>Arguments of the method target.</summary>
    public IReadOnlyList<object?>? MethodArgs { get; }

    /// <summary>Working directory on the node; null for the node service's.</summary>
    public string? Cwd { get; init; }

    /// <summary>Variables added to (or, with a null value, removed from) the runtime's environment.</summary>
    public IReadOnlyDictionary<string, string?>? Env { get; init; }

    /// <summary>Standard input: <see cref="Stdio.DevNull"/> (default), <see cref="Stdio.Pipe"/> or a file.</summary>
    public Stdio Stdin { get; init; } = Stdio.DevNull;

    /// <summary>Standard output: <see cref="Stdio.Inherit"/> (default), pipe, devnull or a file.</summary>
    public Stdio Stdout { get; init; } = Stdio.Inherit;

    /// <summary>Standard error: <see cref="Stdio.Inherit"/> (default), pipe, stdout, devnull or a file.</summary>
    public Stdio Stderr { get; init; } = Stdio.Inherit;

    /// <summary>Placement; null for the runtime's default (round-robin over nodes).</summary>
    public Policy? Policy { get; init; }

    /// <summary>A native executable and its arguments.</summary>
    /// <exception cref="ArgumentException">The program or an argument contains a NUL character (it would cut the C string short).</exception>
    public static ProcessTemplate Executable(string program, params IEnumerable<string> args)
    {
        ArgumentException.ThrowIfNullOrEmpty(program);
        ThrowIfNul(program, "the program", nameof(program));
        var list = args.ToArray();
        for (var i = 0; i < list.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(list[i], nameof(args));
            ThrowIfNul(list[i], $"argument {i + 1}", nameof(args));
        }

        return new ProcessTemplate(program, list, null, null);
    }

    /// <summary>
    /// A static method of this program, run in a new process instead of <c>Main</c>. Arguments are serialized;
    /// runtime objects (processes, groups, connections, queues) travel as descriptors and re-attach in the child.
    /// </summary>
    /// <exception cref="ArgumentException">A lambda, an instance method, or arguments that do not fit the method.</exception>
    public static ProcessTemplate FromMethod(Delegate method, params object?[] args)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Target is not null || !method.Method.IsStatic || MethodTargets.IsCompilerGenerated(method.Method))
        {
            throw new ArgumentException(
                $"the process target {MethodTargets.Describe(method.Method)} is a lambda or an instance method; " +
                "a process target must be a named static method (captured state cannot move to another process)",
                nameof(method));
        }

        return FromMethodInfo(method.Method, args);
    }

    /// <summary>A static method named <paramref name="methodName"/> on <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentException">No such static method taking that many arguments.</exception>
    public static ProcessTemplate FromMethod(
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods)] Type type,
        string methodName,
        params object?[] args)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentException.ThrowIfNullOrEmpty(methodName);
        var candidates = type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance)
            .Where(m => m.Name == methodName)
            .ToArray();
        if (candidates.Length == 0)
        {
            throw new ArgumentException($"no method named {methodName} on {type.FullName}", nameof(methodName));
        }

        var statics = candidates.Where(m => m.IsStatic && m.GetParameters().Length == args.Length).ToArray();
        if (statics.Length == 0)
        {
            throw new ArgumentException(
                candidates.Any(m => !m.IsStatic)
                    ? $"{type.FullName}.{methodName} is not static; a process target must be a static method"
                    : $"{type.FullName}.{methodName} takes no {args.Length} arguments",
                nameof(methodName));
        }

        if (statics.Length > 1)
        {
            throw new ArgumentException($"{type.FullName}.{methodName} is overloaded with {args.Length} arguments; pass the method as a delegate", nameof(methodName));
        }

        return FromMethodInfo(statics[0], args);
    }

    private static ProcessTemplate FromMethodInfo(MethodInfo method, object?[] args)
    {
        MethodTargets.ValidateArguments(method, args);
        var (host, hostArgs) = MethodTargets.HostCommand();
        return new ProcessTemplate(host, hostArgs, method, args);
    }

    /// <summary>The .NET setting of how long an idle thread-pool thread spins before it sleeps.</summary>
    internal const string ThreadPoolSpinLimit = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";

    internal ProcessSpec ToSpec()
    {
        if (Stdin.Kind == StdioKind.Stdout || Stdout.Kind == StdioKind.Stdout)
        {
            throw new ArgumentException("Stdio.Stdout is only for stderr");
        }

        if (Cwd is not null)
        {
            ThrowIfNul(Cwd, "the working directory", nameof(Cwd));
        }

        var env = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in Env ?? new Dictionary<string, string?>())
        {
            if (string.IsNullOrEmpty(key) || key.Contains('=') || key.Contains('\0'))
            {
                throw new ArgumentException($"environment variable name '{key.Replace("\0", "\\0", StringComparison.Ordinal)}' is not valid (empty, or holds '=' or a NUL character)", nameof(Env));
            }

            if (value is not null)
            {
                ThrowIfNul(value, $"the value of environment variable {key}", nameof(Env));
            }

            // An empty value with the marker prefix removes the variable on the node.
            env.Add(new(key, value ?? EnvUnsetMarker));
        }

        byte[]? target = null;
        var name = Path.GetFileName(Program);
        if (Method is not null)
        {
            target = MethodTargets.Encode(Method, MethodArgs ?? []);
            if (target.Length <= RuntimeEnvironment.MethodTargetInlineLimit)
            {
                env.Add(new(RuntimeEnvironment.MethodTarget, System.Text.Encoding.UTF8.GetString(target)));
                target = null;
            }
            else
            {
                env.Add(new(RuntimeEnvironment.MethodTarget, RuntimeEnvironment.MethodTargetOnRequest));
            }

            // Native AOT programs run the target from a module initializer instead (no startup hooks there).
            if (System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
            {
                env.Add(new("DOTNET_STARTUP_HOOKS", MethodTargets.StartupHookPath()));
            }
            // The child's idle thread-pool threads sleep at once instead of spinning (sched_yield) for more work: a
            // node's processes share its CPUs, and with four dictionary clients on 2 CPUs the spin took a third of
            // their CPU (puts across nodes 1.3-1.6x faster without it, batch puts 1.5x). The launcher and node
            // services are built the same way. A template that names the variable decides; otherwise the child gets
            // this process's own setting (the child's environment is its node's, not this process's), and none when
            // this process has it from elsewhere (COMPlus_, or its runtimeconfig, which the variable would override).
            if (Env?.ContainsKey(ThreadPoolSpinLimit) != true)
            {
                if (Environment.GetEnvironmentVariable(ThreadPoolSpinLimit) is { } own)
                {
                    env.Add(new(ThreadPoolSpinLimit, own));
                }
                else if (Environment.GetEnvironmentVariable("COMPlus_ThreadPool_UnfairSemaphoreSpinLimit") is null
                    && AppContext.GetData("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit") is null)
                {
                    env.Add(new(ThreadPoolSpinLimit, "0"));
                }
            }

            name = MethodTargets.Describe(Method);
        }

        return new ProcessSpec(
            Program,
            Args.ToArray(),
            Cwd,
            env.ToArray(),
            Stdin.ToSpec(),
            Stdout.ToSpec(),
            Stderr.ToSpec(),
            (Policy ?? new Policy()).ToSpec(),
            target,
            name);
    }

    private static void ThrowIfNul(string text, string what, string paramName)
    {
        var at = text.IndexOf('\0', StringComparison.Ordinal);
        if (at >= 0)
        {
            throw new ArgumentException($"{what} contains a NUL character at position {at}: '{text.Replace("\0", "\\0", StringComparison.Ordinal)}'", paramName);
        }
    }

    /// <summary>Value that tells the node service to remove a variable from the child's environment.</summary>
    internal const string EnvUnsetMarker = "\0unset";
}
