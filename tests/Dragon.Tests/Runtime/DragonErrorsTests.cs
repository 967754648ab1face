using Dragon.Runtime;
using Dragon.Runtime.Protocol;
using Xunit;

namespace Dragon.Tests.Runtime;

/// <summary>The one factory of client exceptions: each error kind's type, and the reply's context in its properties.</summary>
public sealed class DragonErrorsTests
{
    [Theory]
    [InlineData((int)ErrorKind.NotFound, typeof(ProcessNotFoundException))]
    [InlineData((int)ErrorKind.StartFailed, typeof(ProcessStartException))]
    [InlineData((int)ErrorKind.GroupFailed, typeof(ProcessGroupException))]
    [InlineData((int)ErrorKind.ObjectNotFound, typeof(ObjectNotFoundException))]
    [InlineData((int)ErrorKind.NodeLost, typeof(NodeLostException))]
    [InlineData((int)ErrorKind.Internal, typeof(DragonException))]
    [InlineData((int)ErrorKind.InvalidArgument, typeof(ArgumentException))]
    [InlineData((int)ErrorKind.Closed, typeof(InvalidOperationException))]
    [InlineData((int)ErrorKind.Cancelled, typeof(OperationCanceledException))]
    public void FromReply_EachKind_IsItsExceptionTypeWithTheMessage(int kind, Type expected)
    {
        var e = DragonErrors.FromReply(new ErrorReply((ErrorKind)kind, "the thing and the reason"));

        Assert.IsType(expected, e);
        Assert.Equal("the thing and the reason", e.Message);
    }

    [Fact]
    public void FromReply_WithContext_FillsEveryProperty()
    {
        var e = Assert.IsType<ProcessGroupException>(DragonErrors.FromReply(
            new ErrorReply(ErrorKind.GroupFailed, "member 3 ...", new ErrorContext(4294967301, 1, 3, 7, 9, "q"))));

        Assert.Equal((4294967301UL, 1, 3, 7, 9, "q"), (e.Puid, e.NodeIndex, e.Rank, e.ExitCode, e.Signal, e.ObjectName));
    }

    [Fact]
    public void FromReply_WithoutContext_LeavesEveryPropertyNull()
    {
        var e = Assert.IsType<NodeLostException>(DragonErrors.FromReply(new ErrorReply(ErrorKind.NodeLost, "node 2 is lost")));

        Assert.True(e is { Puid: null, NodeIndex: null, Rank: null, ExitCode: null, Signal: null, ObjectName: null });
    }

    [Fact]
    public void BrokenBarrier_NamedBarrier_CarriesTheNameInMessageAndProperty()
    {
        var e = DragonErrors.BrokenBarrier("barrier 'gate'", "gate");

        Assert.Equal("gate", e.ObjectName);
        Assert.Equal("barrier 'gate' is broken", e.Message);
    }
}
