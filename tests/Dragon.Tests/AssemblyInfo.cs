// Integration tests start real runtimes and MPI jobs on a 2-core machine: one at a time keeps them honest.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

// The runtime is Linux only (process groups, /proc, /dev/shm, Unix file modes), and so are its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
