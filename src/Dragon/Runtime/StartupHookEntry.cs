using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Dragon.Runtime.Protocol;

namespace Dragon.Runtime
{
    /// <summary>
    /// Runs a C# method target in a child process, in place of <c>Main</c>. Under the JIT the .NET host calls
    /// it through <c>DOTNET_STARTUP_HOOKS</c>; in a Native AOT program, which has no startup hooks, the module
    /// initializer below calls it (Native AOT runs every module initializer before <c>Main</c>, directly, not as
    /// a type initializer that other threads would wait on).
    /// </summary>
    internal static class StartupHookEntry
    {
        [ModuleInitializer]
        [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "Native AOT has no startup hooks; this is its only way in before Main.")]
        internal static void RunInNativeAot()
        {
            // The launcher is a Native AOT program built with this library too; it never runs a method target. The
            // variable is looked at first: naming the entry assembly builds reflection data, about 1.4 ms of every
            // start of the launcher and of each node service.
            if (!RuntimeFeature.IsDynamicCodeSupported && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(RuntimeEnvironment.MethodTarget))
                && Assembly.GetEntryAssembly()?.GetName().Name != "Dragon.Launcher")
            {
                Run();
            }
        }

        public static void Run()
        {
            var spec = Environment.GetEnvironmentVariable(RuntimeEnvironment.MethodTarget);
            if (string.IsNullOrEmpty(spec))
            {
                return;
            }

            // Processes this one starts by other means must not run the hook again.
            Environment.SetEnvironmentVariable("DOTNET_STARTUP_HOOKS", null);
            Environment.SetEnvironmentVariable(RuntimeEnvironment.MethodTarget, null);
            int code;
            string name = "process target";
            try
            {
                // A target small enough travels in the environment, so a method that does not use the runtime
                // never connects to it; a larger one is fetched from the node service.
                var payload = spec == RuntimeEnvironment.MethodTargetOnRequest
                    ? FetchTarget(RuntimeClient.Current)
                    : Encoding.UTF8.GetBytes(spec);
                var (method, args) = MethodTargets.Decode(payload);
                name = MethodTargets.Describe(method);
                code = Invoke(method, args);
            }
            catch (Exception e)
            {
                var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
                Console.Error.WriteLine($"Unhandled exception in {name}: {inner}");
                code = 1;
            }

            // Console.Out and Console.Error flush on every write; touching them here would only create them
            // (a few milliseconds of a short method's start-up).
            Environment.Exit(code);
        }

        private static byte[] FetchTarget(RuntimeClient client) => client.Request<TargetReply>(new TargetRequest(client.Puid)).Payload;

        private static int Invoke(MethodInfo method, object?[] args)
        {
            var result = method.Invoke(null, args);
            switch (result)
            {
                case Task<int> taskOfInt:
                    return taskOfInt.GetAwaiter().GetResult();
                case Task task:
                    task.GetAwaiter().GetResult();
                    return 0;
                case int exitCode:
                    return exitCode;
                default:
                    return 0;
            }
        }
    }
}

/// <summary>Entry point the .NET host calls when <c>DOTNET_STARTUP_HOOKS</c> names this assembly.</summary>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
internal static class StartupHook
{
    /// <summary>Called by the host before <c>Main</c>.</summary>
    public static void Initialize() => Dragon.Runtime.StartupHookEntry.Run();
}
