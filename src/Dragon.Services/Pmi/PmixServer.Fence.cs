namespace Dragon.Services.Pmi;

// Kept out of the unsafe part: an async method cannot run in an unsafe context.
internal sealed partial class PmixServer
{
    private static async Task CompleteFenceAsync(PmixJob job, byte[] local, nint cbfunc, nint cbdata)
    {
        byte[]? all;
        try
        {
            all = await job.FenceAsync(local).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            PmixLog.FenceFailed(job.Logger, job.Nspace, e);
            all = null;
        }
        ReturnModex(cbfunc, cbdata, all);
    }
}
