// The reference workflow: producers each run an MPI benchmark as a process group with PMI, a parser per
// producer turns rank 0's output into results on a shared queue, and a consumer logs them until told to stop.
// Run it with: dragon examples/MpiWorkflow [--producers 5] [--concurrent 2] [--ranks N] [--mpi-exe PATH] [--mpi-args "..."]
using MpiWorkflow;

WorkflowOptions options;
try
{
    options = WorkflowOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"MpiWorkflow: {e.Message}");
    Console.Error.WriteLine(WorkflowOptions.Usage);
    return 2;
}

return Workflow.Run(options);
