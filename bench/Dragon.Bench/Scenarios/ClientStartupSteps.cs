using System.Diagnostics;
using System.Net.Sockets;
using Dragon.Runtime;
using Dragon.Runtime.Protocol;

namespace Dragon.Bench.Scenarios;

/// <summary>
/// The <c>client-steps</c> executable: in a fresh process, the first use of each piece a C# method target's
/// start-up goes through, timed one after the other in the order the start-up meets them. First use is what every
/// new process pays (type loading, JIT, static initialisation); the figures say where its start-up goes.
/// </summary>
internal static class ClientStartupSteps
{
    public static int Run(string targetPayloadPath)
    {
        var clock = Stopwatch.GetTimestamp();
        double Lap()
        {
            var now = Stopwatch.GetTimestamp();
            var ms = Report.Milliseconds(clock, now);
            clock = now;
            return ms;
        }

        // The control codec, first encode then first decode of a message.
        var frame = FrameCodec.Encode(0, new HelloRequest(string.Empty, 0, 0));
        Report.Value("codec_encode_ms", Lap());
        _ = FrameCodec.Decode(frame.AsSpan(FrameCodec.HeaderBytes));
        Report.Value("codec_decode_ms", Lap());

        // A Unix socket, as the client opens one (the node service just accepts and drops this one).
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            socket.Connect(new UnixDomainSocketEndPoint(Environment.GetEnvironmentVariable("DRAGON_SOCKET")!));
        }

        Report.Value("socket_ms", Lap());
        var client = RuntimeClient.Current;
        Report.Value("client_hello_ms", Lap());
        _ = client.Request<QueryReply>(new QueryRequest(client.Puid));
        Report.Value("first_request_ms", Lap());
        var (method, args) = MethodTargets.Decode(File.ReadAllBytes(targetPayloadPath));
        Report.Value("target_decode_ms", Lap());
        _ = method.Invoke(null, args);
        Report.Value("invoke_ms", Lap());
        return 0;
    }

    /// <summary>What a parent sends a child for <see cref="LaunchScenarios.NoOp"/>.</summary>
    public static byte[] EncodeNoOpTarget() =>
        MethodTargets.Encode(typeof(LaunchScenarios).GetMethod(nameof(LaunchScenarios.NoOp))!, []);
}
