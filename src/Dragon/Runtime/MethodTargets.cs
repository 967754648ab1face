using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Dragon.Runtime.Serialization;

namespace Dragon.Runtime;

/// <summary>
/// C# methods as process targets: validated and encoded in the parent at Start, decoded and invoked
/// in the child by <see cref="StartupHookEntry"/> before <c>Main</c> would run.
/// </summary>
internal static class MethodTargets
{
    public static string Describe(MethodInfo method) => $"{method.DeclaringType?.FullName}.{method.Name}";

    public static bool IsCompilerGenerated(MethodInfo method) =>
        method.Name.Contains('<', StringComparison.Ordinal)
        || method.DeclaringType?.GetCustomAttribute<CompilerGeneratedAttribute>() is not null
        || (method.DeclaringType?.Name.Contains('<', StringComparison.Ordinal) ?? false);

    /// <summary>The command that starts this same program again: the apphost, or the dotnet host with the entry dll.</summary>
    public static (string Host, string[] Args) HostCommand()
    {
        var host = Environment.ProcessPath ?? throw DragonErrors.MethodTarget("cannot tell which executable runs this program");
        if (!RuntimeFeature.IsDynamicCodeSupported)
        {
            return (host, []); // a Native AOT program is its own executable
        }

        var entry = EntryAssemblyLocation();
        if (string.Equals(Path.GetFileNameWithoutExtension(host), "dotnet", StringComparison.Ordinal))
        {
            if (string.IsNullOrEmpty(entry))
            {
                throw DragonErrors.MethodTarget("cannot start a C# method: the entry assembly has no file location");
            }

            return (host, [entry]);
        }

        return (host, []);
    }

    [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "Used only under the JIT; a single-file or AOT program is its own executable.")]
    private static string? EntryAssemblyLocation() => Assembly.GetEntryAssembly()?.Location;

    /// <summary>The path of this library for <c>DOTNET_STARTUP_HOOKS</c> in a JIT child.</summary>
    /// <exception cref="NotSupportedException">The program is a single-file bundle: its child would have no hook to run.</exception>
    [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "Checked: a single-file bundle gets a clear error instead of an empty path.")]
    public static string StartupHookPath()
    {
        var path = typeof(MethodTargets).Assembly.Location;
        return path.Length > 0
            ? path
            : throw new NotSupportedException(
                "C# method targets need Dragon.dll on disk (DOTNET_STARTUP_HOOKS); this program is a single-file bundle: publish it framework-dependent or Native AOT instead");
    }

    [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "Empty in a single-file or AOT program, where the assembly is found by name.")]
    private static string LocationOf(Assembly assembly) => assembly.Location;

    public static void ValidateArguments(MethodInfo method, object?[] args)
    {
        var parameters = method.GetParameters();
        if (parameters.Length != args.Length)
        {
            throw new ArgumentException($"{Describe(method)} takes {parameters.Length} arguments, {args.Length} given");
        }

        if (method.ContainsGenericParameters)
        {
            throw new ArgumentException($"{Describe(method)} is generic; a process target must be a closed method");
        }

        for (var i = 0; i < args.Length; i++)
        {
            var type = parameters[i].ParameterType;
            var arg = args[i];
            if (arg is null)
            {
                if (type.IsValueType && Nullable.GetUnderlyingType(type) is null)
                {
                    throw new ArgumentException($"argument {i} ({parameters[i].Name}) of {Describe(method)} is null but {type.Name} cannot be null");
                }

                continue;
            }

            if (!type.IsInstanceOfType(arg))
            {
                throw new ArgumentException($"argument {i} ({parameters[i].Name}) of {Describe(method)} is a {arg.GetType().Name}, not a {type.Name}");
            }

            if (UserCodec.WhyNotSerializable(arg.GetType()) is { } why)
            {
                throw new ArgumentException($"argument {i} ({parameters[i].Name}, {arg.GetType().FullName}) of {Describe(method)} cannot be serialized: {why}");
            }

            try
            {
                // Round trip now so a value the child could not rebuild fails here, in the parent.
                UserCodec.CheckRoundTrip(arg, type);
            }
            catch (Exception e) when (e is NotSupportedException or JsonException or InvalidOperationException or ArgumentException)
            {
                var reason = e is NotSupportedException && !JsonSerializer.IsReflectionEnabledByDefault
                    ? "this program has no reflection-based serialization (Native AOT): it passes booleans, numbers, strings, " +
                      "Guid, DateTime, TimeSpan, arrays of bytes, ints, longs, doubles and strings, and runtime objects (queues, " +
                      "connections, processes, groups, events, barriers, locks, semaphores); set " +
                      "JsonSerializerIsReflectionEnabledByDefault in the project for other types"
                    : e.Message;
                throw new ArgumentException($"argument {i} ({parameters[i].Name}, {arg.GetType().FullName}) of {Describe(method)} cannot be serialized: {reason}", e);
            }
        }
    }

    public static byte[] Encode(MethodInfo method, IReadOnlyList<object?> args)
    {
        var parameters = method.GetParameters();
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("assembly", method.Module.Assembly.FullName);
            writer.WriteString("assemblyPath", LocationOf(method.Module.Assembly));
            writer.WriteString("type", method.DeclaringType!.FullName);
            writer.WriteString("method", method.Name);
            writer.WriteStartArray("parameters");
            foreach (var p in parameters)
            {
                writer.WriteStringValue(p.ParameterType.AssemblyQualifiedName);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("args");
            for (var i = 0; i < args.Count; i++)
            {
                writer.WriteRawValue(UserCodec.Serialize(args[i], parameters[i].ParameterType));
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TargetKept)]
    [UnconditionalSuppressMessage("Trimming", "IL2057", Justification = TargetKept)]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = TargetKept)]
    public static (MethodInfo Method, object?[] Args) Decode(byte[] payload)
    {
        // One pass of a Utf8JsonReader and no LINQ: this runs first thing in every method process, where each
        // piece of code used for the first time costs start-up (JsonDocument and LINQ cost ~4 ms here under the JIT).
        string? assemblyName = null, assemblyPath = null, typeName = null, methodName = null;
        var parameterNames = new List<string>();
        var argRanges = new List<Range>();
        var reader = new Utf8JsonReader(payload);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw DragonErrors.MethodTarget("the method target is not a JSON object");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.GetString();
            reader.Read();
            switch (property)
            {
                case "assembly": assemblyName = reader.GetString(); break;
                case "assemblyPath": assemblyPath = reader.GetString(); break;
                case "type": typeName = reader.GetString(); break;
                case "method": methodName = reader.GetString(); break;
                case "parameters":
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        parameterNames.Add(reader.GetString()!);
                    }

                    break;
                case "args":
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        var start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        argRanges.Add(start..(int)reader.BytesConsumed);
                    }

                    break;
                default: reader.Skip(); break;
            }
        }

        if (assemblyName is null || typeName is null || methodName is null || argRanges.Count != parameterNames.Count)
        {
            throw DragonErrors.MethodTarget("the method target is incomplete");
        }

        var (method, parameterTypes) = Resolve(assemblyName, assemblyPath, typeName, methodName, parameterNames);
        var args = new object?[parameterTypes.Length];
        for (var i = 0; i < args.Length; i++)
        {
            args[i] = UserCodec.Deserialize(payload.AsSpan()[argRanges[i]], parameterTypes[i]);
        }

        return (method, args);
    }

    /// <summary>Finds a static method by the names <see cref="Encode"/> (or a pool's task descriptor) wrote.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = TargetKept)]
    [UnconditionalSuppressMessage("Trimming", "IL2057", Justification = TargetKept)]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = TargetKept)]
    public static (MethodInfo Method, Type[] ParameterTypes) Resolve(
        string assemblyName, string? assemblyPath, string typeName, string methodName, IReadOnlyList<string> parameterNames)
    {
        var assembly = FindAssembly(assemblyName) ?? LoadAssembly(assemblyName, assemblyPath);
        var type = assembly.GetType(typeName, throwOnError: false)
            ?? throw DragonErrors.MethodTarget($"type {typeName} not found in {assemblyName}");
        var parameterTypes = new Type[parameterNames.Count];
        for (var i = 0; i < parameterTypes.Length; i++)
        {
            parameterTypes[i] = Type.GetType(parameterNames[i], throwOnError: true)!;
        }

        var method = type.GetMethod(methodName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, parameterTypes)
            ?? throw DragonErrors.MethodTarget($"static method {typeName}.{methodName} not found");
        return (method, parameterTypes);
    }

    /// <summary>The assembly's file, empty in a single-file or Native AOT program (found by name there).</summary>
    public static string AssemblyPath(Assembly assembly) => LocationOf(assembly);

    /// <summary>The entry assembly (the usual case) or another one already loaded.</summary>
    private static Assembly? FindAssembly(string fullName)
    {
        if (Assembly.GetEntryAssembly() is { } entry && entry.FullName == fullName)
        {
            return entry;
        }

        foreach (var loaded in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (loaded.FullName == fullName)
            {
                return loaded;
            }
        }

        return null;
    }

    private const string TargetKept =
        "The child runs the parent's own program, where the target was reflected upon (a delegate's method, or a type " +
        "annotated to keep its methods), so a trimmed or Native AOT build keeps its metadata.";

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "LoadFrom is reached only under the JIT, for an assembly loaded from a file.")]
    private static Assembly LoadAssembly(string name, string? path)
    {
        try
        {
            return Assembly.Load(name);
        }
        catch (FileNotFoundException) when (!string.IsNullOrEmpty(path))
        {
            return Assembly.LoadFrom(path);
        }
    }
}
