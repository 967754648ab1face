using System.Text;

namespace Dragon.Services.Pmi;

/// <summary>The PMI-1 command table: one method per request, each writing its one-line answer.</summary>
internal sealed partial class PmiConnection
{
    /// <summary>Limits announced in <c>cmd=maxes</c>.</summary>
    internal const int KvsNameMax = 256;
    internal const int KeyLengthMax = 64;
    internal const int ValueLengthMax = 1024;

    // Ordered by how often MPI_Init and MPI_Finalize send them.
    private void Dispatch(PmiJob job, PmiRequest request, scoped ReadOnlySpan<byte> line, ref PmiResponseWriter response)
    {
        var command = request.Command;
        if (command.SequenceEqual("get"u8))
        {
            Get(job, request, ref response);
        }
        else if (command.SequenceEqual("put"u8))
        {
            Put(job, request, ref response);
        }
        else if (command.SequenceEqual("barrier_in"u8))
        {
            job.EnterBarrier(_rank); // answered by barrier_out once every rank arrived
        }
        else if (command.SequenceEqual("init"u8))
        {
            Init(request);
            response.Append("cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0\n"u8);
        }
        else if (command.SequenceEqual("get_maxes"u8))
        {
            response.Append("cmd=maxes kvsname_max="u8);
            response.Append(KvsNameMax);
            response.Append(" keylen_max="u8);
            response.Append(KeyLengthMax);
            response.Append(" vallen_max="u8);
            response.Append(ValueLengthMax);
            response.Append("\n"u8);
        }
        else if (command.SequenceEqual("get_appnum"u8))
        {
            response.Append("cmd=appnum appnum=0\n"u8);
        }
        else if (command.SequenceEqual("get_my_kvsname"u8))
        {
            response.Append("cmd=my_kvsname kvsname="u8);
            response.Append(job.KvsName);
            response.Append("\n"u8);
        }
        else if (command.SequenceEqual("get_universe_size"u8))
        {
            response.Append("cmd=universe_size size="u8);
            response.Append(job.UniverseSize);
            response.Append("\n"u8);
        }
        else if (command.SequenceEqual("finalize"u8))
        {
            job.OnFinalize(_rank);
            response.Append("cmd=finalize_ack\n"u8);
        }
        else if (command.SequenceEqual("abort"u8))
        {
            Abort(job, request); // never answered: the launcher kills the rank
        }
        else if (command.SequenceEqual("publish_name"u8))
        {
            bool published = _server.TryPublish(RequiredString(request, "service"u8), RequiredString(request, "port"u8));
            response.Append(published
                ? "cmd=publish_result info=ok rc=0 msg=success\n"u8
                : "cmd=publish_result info=duplicate rc=1 msg=service_already_published\n"u8);
        }
        else if (command.SequenceEqual("unpublish_name"u8))
        {
            bool removed = _server.TryUnpublish(RequiredString(request, "service"u8));
            response.Append(removed
                ? "cmd=unpublish_result info=ok rc=0 msg=success\n"u8
                : "cmd=unpublish_result info=not_found rc=1 msg=service_not_found\n"u8);
        }
        else if (command.SequenceEqual("lookup_name"u8))
        {
            string? port = _server.Lookup(RequiredString(request, "service"u8));
            if (port is null)
            {
                response.Append("cmd=lookup_result info=not_found rc=1 msg=service_not_found\n"u8);
            }
            else
            {
                response.Append("cmd=lookup_result port="u8);
                response.Append(port);
                response.Append(" info=ok rc=0 msg=success\n"u8);
            }
        }
        else
        {
            throw PmiProtocolException.UnknownCommand(line);
        }
    }

    private static void Get(PmiJob job, PmiRequest request, ref PmiResponseWriter response)
    {
        var kvsName = Required(request, "kvsname"u8);
        var key = Required(request, "key"u8);
        bool ownKvs = job.IsOwnKvs(kvsName);
        string? value = ownKvs ? job.Get(key) : null;
        if (value is null)
        {
            // MPICH treats rc != 0 as "not there (yet)"; the message names what was missing.
            response.Append(ownKvs ? "cmd=get_result rc=-1 msg=key_"u8 : "cmd=get_result rc=-1 msg=kvs_"u8);
            response.Append(ownKvs ? key : kvsName);
            response.Append("_not_found value=unknown\n"u8);
            return;
        }
        response.Append("cmd=get_result rc=0 msg=success value="u8);
        response.Append(value);
        response.Append("\n"u8);
    }

    private static void Put(PmiJob job, PmiRequest request, ref PmiResponseWriter response)
    {
        var kvsName = Required(request, "kvsname"u8);
        var key = Required(request, "key"u8);
        var value = Required(request, "value"u8);
        if (!job.IsOwnKvs(kvsName))
        {
            response.Append("cmd=put_result rc=-1 msg=kvs_"u8);
            response.Append(kvsName);
            response.Append("_not_found\n"u8);
        }
        else if (key.Length > KeyLengthMax)
        {
            response.Append("cmd=put_result rc=-1 msg=key_too_long\n"u8);
        }
        else
        {
            job.Put(key, value);
            response.Append("cmd=put_result rc=0 msg=success\n"u8);
        }
    }

    private static void Init(PmiRequest request)
    {
        if (!request.TryGetInt32("pmi_version"u8, out int version) || version != 1)
        {
            string asked = request.TryGet("pmi_version"u8, out var text) ? Encoding.Latin1.GetString(text) : "no version";
            throw new PmiProtocolException($"cmd=init asks for PMI version {asked}; this server speaks PMI-1 only");
        }
    }

    private void Abort(PmiJob job, PmiRequest request)
    {
        // MPICH sends exitcode only; a message, if a client adds one, is kept for the report.
        bool hasCode = request.TryGetInt32("exitcode"u8, out int exitCode);
        string? message = request.TryGet("message"u8, out var text) || request.TryGet("msg"u8, out text)
            ? Encoding.Latin1.GetString(text)
            : null;
        if (!hasCode)
        {
            exitCode = 1;
            message ??= "abort without an integer exitcode";
        }
        job.OnAbort(_rank, exitCode, message);
    }

    private static ReadOnlySpan<byte> Required(PmiRequest request, ReadOnlySpan<byte> field)
    {
        if (!request.TryGet(field, out var value))
        {
            throw PmiProtocolException.MissingField(request.Command, Encoding.Latin1.GetString(field));
        }
        return value;
    }

    private static string RequiredString(PmiRequest request, ReadOnlySpan<byte> field) =>
        Encoding.Latin1.GetString(Required(request, field));
}
