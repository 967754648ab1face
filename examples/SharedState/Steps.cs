using Dragon;

namespace SharedState;

/// <summary>The producers' and the consumer's work, run as processes of the run (C# methods as targets).</summary>
public static class Steps
{
    /// <summary>
    /// A producer: at each step, an array at the step's checkpoint under <c>step/producer</c>. It keeps at most two
    /// steps ahead of the consumer (so the steps it writes stay in the dictionary's working set of three).
    /// </summary>
    public static int Produce(DragonDictionary<string, double[]> state, int producer, int steps, int size)
    {
        for (var step = 0; step < steps; step++)
        {
            if (step >= 2)
            {
                state.WaitFor($"consumed/{step - 2}", TimeSpan.FromMinutes(5));
            }

            state[$"{step}/{producer}"] = Simulate(producer, step, size);
            state.Checkpoint();
        }

        return 0;
    }

    /// <summary>
    /// The consumer: for each step, waits for every producer's array, keeps their mean under "mean" at the step's
    /// checkpoint (and under "mean/step" for the record), removes the arrays it used, persists the checkpoint and moves to the next.
    /// </summary>
    public static int Consume(DragonDictionary<string, double[]> state, int producers, int steps)
    {
        for (var step = 0; step < steps; step++)
        {
            double sum = 0;
            long count = 0;
            for (var producer = 0; producer < producers; producer++)
            {
                var values = state.WaitFor($"{step}/{producer}", TimeSpan.FromMinutes(5));
                sum += values.Sum();
                count += values.Length;
                state.Remove($"{step}/{producer}");
            }

            state["mean"] = [sum / count];
            state[$"mean/{step}"] = [sum / count];
            state.Persist();
            state[$"consumed/{step}"] = [];
            state.Checkpoint();
        }

        return 0;
    }

    /// <summary>A stand-in for a simulation's output: a deterministic array per producer and step.</summary>
    public static double[] Simulate(int producer, int step, int size)
    {
        var values = new double[size];
        for (var i = 0; i < size; i++)
        {
            values[i] = Math.Sin((producer + 1) * 0.001 * i) + step;
        }

        return values;
    }

    public static double ExpectedMean(int producers, int step, int size)
    {
        double sum = 0;
        for (var producer = 0; producer < producers; producer++)
        {
            sum += Simulate(producer, step, size).Sum();
        }

        return sum / ((long)producers * size);
    }
}
