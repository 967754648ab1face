// Integration tests start real runtimes and MPI jobs on a 2-core machine: one at a time keeps them honest.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
