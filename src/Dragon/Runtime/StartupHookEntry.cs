using System.Reflection;
using Dragon.Runtime.Protocol;

namespace Dragon.Runtime
{
    /// <summary>Runs a C# method target in a child process, in place of <c>Main</c>.</summary>
    internal static class StartupHookEntry
    {
        public static void Run()
        {
            if (Environment.GetEnvironmentVariable(RuntimeEnvironment.MethodTarget) != "1")
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
                var client = RuntimeClient.Current;
                var payload = client.Request<TargetReply>(new TargetRequest(client.Puid)).Payload;
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

            Console.Out.Flush();
            Console.Error.Flush();
            Environment.Exit(code);
        }

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
