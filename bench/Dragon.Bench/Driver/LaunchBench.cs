namespace Dragon.Bench.Driver;

/// <summary>
/// <c>scripts/bench launch</c>: (a) a group of 64 <c>/bin/true</c> inside a running runtime, (b) the whole
/// <c>dragon</c> command running such a group, both against <c>mpiexec.mpich -n 64 /bin/true</c>; (c) 64 C# method
/// processes against Python multiprocessing starting 64 functions with the spawn method. (b) and (c) are scored with
/// the head program published Native AOT, as a user who cares about start-up would ship it; the same with a JIT
/// head is reported beside them. Then the figures that say where the time goes.
/// </summary>
internal static class LaunchBench
{
    /// <summary>Processes a function run starts in all: 2 to warm up, then 64.</summary>
    private const int FunctionProcesses = 66;

    private static readonly string[] s_phaseFigures = ["phase_noop_ms", "phase_connect_ms", "phase_method_entry_ms", "phase_method_ms"];

    private static readonly string[] s_stepFigures =
    [
        "step_codec_encode_ms", "step_codec_decode_ms", "step_socket_ms", "step_client_hello_ms",
        "step_first_request_ms", "step_target_decode_ms",
    ];

    /// <summary>Measures, prints the table, and returns the summary line.</summary>
    public static string Run(BenchContext context)
    {
        var samples = new Samples();
        void Mpiexec() => samples.Add("mpiexec_ms", context.Command("mpiexec.mpich", "-n", "64", "/bin/true")?.WallMs);

        Alternation.Run(
            "launch (a, b)",
            context.Rounds(11),
            () =>
            {
                var whole = context.OursAot("group64");
                samples.Add("whole_ms", whole?.WallMs);
                samples.Add("aot_group_cold_ms", whole?.Value("group_cold_ms"));
                samples.Add("aot_main_to_connected_ms", whole?.MillisecondsTo("t_connected") - whole?.MillisecondsTo("t_main"));
            },
            Mpiexec,
            () =>
            {
                var whole = context.Ours(1, "group64");
                samples.Add("jit_whole_ms", whole?.WallMs);
                samples.Add("group_cold_ms", whole?.Value("group_cold_ms"));
                samples.Add("to_main_ms", whole?.MillisecondsTo("t_main"));
                samples.Add("main_to_connected_ms", whole?.MillisecondsTo("t_connected") - whole?.MillisecondsTo("t_main"));
                samples.Add("end_to_exit_ms", whole?.WallMs - whole?.MillisecondsTo("t_end"));
            },
            Mpiexec,
            () =>
            {
                var warm = context.Ours(1, "group-warm");
                samples.Add("group_ms", warm?.Value("group_ms"));
                samples.Add("group_start_ms", warm?.Value("group_start_ms"));
            },
            Mpiexec,
            () =>
            {
                var floor = context.Peer("spawn_floor.py");
                samples.Add("floor_ms", floor?.Value("floor_ms"));
                samples.Add("floor2_ms", floor?.Value("floor2_ms"));
                samples.Add("floor_c_ms", context.Command(Path.Combine(context.Root, "artifacts", "bench", "spawn_floor"), "2")?.Value("floor_c_ms"));
                samples.Add("true_cpu_us", floor?.Value("true_cpu_us"));
            },
            () => samples.Add("bare_run_ms", context.Command(context.Launcher, "/bin/true")?.WallMs));

        Alternation.Run(
            "launch (c)",
            context.Rounds(5),
            () =>
            {
                var ours = context.OursAot("functions");
                samples.Add("functions_ms", ours?.Value("functions_ms"));
                samples.Add("functions_cpu_ms", ours?.CpuMs / FunctionProcesses);
            },
            () =>
            {
                var ours = context.Ours(1, "functions");
                samples.Add("jit_functions_ms", ours?.Value("functions_ms"));
                samples.Add("jit_functions_cpu_ms", ours?.CpuMs / FunctionProcesses);
            },
            () =>
            {
                var peer = context.Peer("launch_functions.py");
                samples.Add("py_functions_ms", peer?.Value("functions_ms"));
                samples.Add("py_functions_cpu_ms", peer?.CpuMs / FunctionProcesses);
            });

        Alternation.Run(
            "launch, diagnosis of (b) and (c)",
            context.Rounds(5),
            () => samples.Add("dotnet_group_ms", context.Ours(1, "dotnet-group")?.Value("dotnet_group_ms")),
            () =>
            {
                var phases = context.Ours(1, "function-phases", "5");
                foreach (var name in s_phaseFigures.Concat(s_stepFigures))
                {
                    samples.Add(name, phases?.Value(name));
                }
            },
            () =>
            {
                var dotnet = context.Command("dotnet", BenchContext.BenchDll, "startup-noop");
                samples.Add("dotnet_noop_ms", dotnet?.WallMs);
                samples.Add("dotnet_noop_cpu_ms", dotnet?.CpuMs);
            },
            () =>
            {
                var python = context.Command(BenchContext.Python, "-c", "import multiprocessing");
                samples.Add("python_noop_ms", python?.WallMs);
                samples.Add("python_noop_cpu_ms", python?.CpuMs);
            });

        var table = new ResultTable("launch: 64 processes started and joined (peers: mpiexec.mpich, Python multiprocessing spawn)", samples);
        var group = table.Compare("(a) group of 64 /bin/true in a running runtime, Start to joined", "ms", "group_ms", "mpiexec_ms", "<= 0.5");
        var whole = table.Compare("(b) whole command, Native AOT head: dragon Dragon.Bench.Aot group64", "ms", "whole_ms", "mpiexec_ms", "<= 1.0");
        var functions = table.Compare("(c) 64 no-op C# methods started and joined, Native AOT program", "ms", "functions_ms", "py_functions_ms", "<= 0.5");
        table.Compare("(b) the same whole command with a JIT head: dragon Dragon.Bench.dll group64", "ms", "jit_whole_ms", "mpiexec_ms", "reported");
        table.Compare("(c) the same with a JIT program: dragon Dragon.Bench.dll functions", "ms", "jit_functions_ms", "py_functions_ms", "reported");
        table.Single("(a) of which Start returning (all 64 spawned)", "ms", "group_start_ms");
        table.Compare("(a) floor: 64 posix_spawn + waitpid, one Python thread", "ms", "group_ms", "floor_ms", "ours vs the floor");
        table.Compare("(a) floor: the same from two threads", "ms", "group_ms", "floor2_ms", "ours vs the floor");
        table.Compare("(a) floor: the same in C, two threads (bench/peers/spawn_floor.c)", "ms", "group_ms", "floor_c_ms", "ours vs the floor");
        table.Compare("(a) floor in C against mpiexec: what any launcher could reach here", "ms", "floor_c_ms", "mpiexec_ms", "target 0.5");
        table.Single("(a) CPU of one /bin/true on this machine", "us", "true_cpu_us", "x 64 / 2 CPUs bounds any launcher");
        table.Single("(b) dragon /bin/true: bring-up + teardown, no head program", "ms", "bare_run_ms");
        table.Single("(b) AOT head: Main to connected (first request done)", "ms", "aot_main_to_connected_ms");
        table.Single("(b) AOT head: the group, first in the fresh runtime", "ms", "aot_group_cold_ms");
        table.Single("(b) JIT head: command start to the head's Main", "ms", "to_main_ms", "bring-up, spawn, .NET host");
        table.Single("(b) JIT head: Main to connected (first request done)", "ms", "main_to_connected_ms", "Dragon client start-up");
        table.Single("(b) JIT head: the group, first in the fresh runtime", "ms", "group_cold_ms", "head code not yet JIT-compiled");
        table.Single("(b) JIT head: head's last line to the command's exit", "ms", "end_to_exit_ms", "head exit, teardown");
        table.Compare("(b, c) one interpreter: dotnet Dragon.Bench.dll vs python3 -c 'import multiprocessing'", "ms", "dotnet_noop_ms", "python_noop_ms", "wall");
        table.Compare("(b, c) the same, CPU time", "ms", "dotnet_noop_cpu_ms", "python_noop_cpu_ms", "user + system");
        table.Compare("(c) CPU per function process, AOT (whole run's CPU / 66)", "ms", "functions_cpu_ms", "py_functions_cpu_ms", "user + system");
        table.Compare("(c) CPU per function process, JIT", "ms", "jit_functions_cpu_ms", "py_functions_cpu_ms", "user + system");
        table.Compare("(c) 64 no-op .NET executables in a group (JIT, no method machinery)", "ms", "dotnet_group_ms", "py_functions_ms", "vs the peer's (c)");
        table.Single("(c) JIT, one at a time: .NET executable, no-op", "ms", "phase_noop_ms", "started and joined");
        table.Single("(c) JIT, one at a time: the same, connecting to the runtime", "ms", "phase_connect_ms");
        table.Single("(c) JIT, one at a time: C# method, until the method is entered", "ms", "phase_method_entry_ms");
        table.Single("(c) JIT, one at a time: C# method, started and joined", "ms", "phase_method_ms");
        table.Single("(b) JIT first use in a new process: control codec encode of a message", "ms", "step_codec_encode_ms", "hand-written codec");
        table.Single("(b) JIT first use: control codec decode of a message", "ms", "step_codec_decode_ms");
        table.Single("(b) JIT first use: a Unix socket connect", "ms", "step_socket_ms");
        table.Single("(b) JIT first use: runtime client hello", "ms", "step_client_hello_ms");
        table.Single("(b) JIT first use: a request round trip", "ms", "step_first_request_ms");
        table.Single("(c) JIT first use: method-target decode (JSON, reflection)", "ms", "step_target_decode_ms");
        table.Print();
        return
            $"launch ratio_group={ResultTable.Format(group, "0.00")} ratio_whole={ResultTable.Format(whole, "0.00")} " +
            $"ratio_functions={ResultTable.Format(functions, "0.00")}";
    }
}
