using System.Buffers;
using System.Reflection;
using Dragon.Runtime;

namespace Dragon.Pool;

/// <summary>
/// A static method a pool runs as tasks, checked once in the caller (static, named, one argument, types that travel)
/// and described to a worker the first time that worker is sent one of its tasks.
/// </summary>
internal sealed class TaskMethod
{
    private TaskMethod(int id, MethodInfo method)
    {
        Id = id;
        Method = method;
        Name = MethodTargets.Describe(method);
    }

    public int Id { get; }

    public MethodInfo Method { get; }

    public string Name { get; }

    /// <exception cref="ArgumentException">A lambda, an instance method, a generic method, or types that cannot travel.</exception>
    public static TaskMethod Create(int id, Delegate method)
    {
        var info = method.Method;
        if (method.Target is not null || !info.IsStatic || MethodTargets.IsCompilerGenerated(info))
        {
            throw new ArgumentException(
                $"the task method {MethodTargets.Describe(info)} is a lambda or an instance method; a pool runs named static " +
                "methods only (captured state cannot move to another process)",
                nameof(method));
        }

        if (info.ContainsGenericParameters)
        {
            throw new ArgumentException($"{MethodTargets.Describe(info)} is generic; a task method must be a closed method", nameof(method));
        }

        if (info.GetParameters().Length != 1)
        {
            throw new ArgumentException($"{MethodTargets.Describe(info)} takes {info.GetParameters().Length} arguments; a task method takes one", nameof(method));
        }

        foreach (var (what, type) in new[] { ("argument", info.GetParameters()[0].ParameterType), ("result", info.ReturnType) })
        {
            var why = type == typeof(void) ? "a task method returns a value" : ItemCodec.WhyNotSupported(type);
            if (why is not null)
            {
                throw new ArgumentException(
                    $"the {what} of task method {MethodTargets.Describe(info)} ({type.FullName}) cannot travel between processes: {why}",
                    nameof(method));
            }
        }

        return new TaskMethod(id, info);
    }

    /// <summary>Writes what a worker needs to find the method: its assembly, type, name and parameter type.</summary>
    public void WriteDescriptor(ArrayBufferWriter<byte> writer)
    {
        ItemCodec.WriteString(Method.Module.Assembly.FullName, writer);
        ItemCodec.WriteString(MethodTargets.AssemblyPath(Method.Module.Assembly), writer);
        ItemCodec.WriteString(Method.DeclaringType!.FullName, writer);
        ItemCodec.WriteString(Method.Name, writer);
        ItemCodec.WriteString(Method.GetParameters()[0].ParameterType.AssemblyQualifiedName, writer);
    }

    /// <summary>Finds the method in a worker from a descriptor written by <see cref="WriteDescriptor"/>.</summary>
    public static (MethodInfo Method, Type Argument, Type Result) ReadDescriptor(ReadOnlySpan<byte> data, ref int offset)
    {
        var assembly = ItemCodec.ReadString(data, ref offset)!;
        var path = ItemCodec.ReadString(data, ref offset);
        var type = ItemCodec.ReadString(data, ref offset)!;
        var name = ItemCodec.ReadString(data, ref offset)!;
        var parameter = ItemCodec.ReadString(data, ref offset)!;
        var (method, parameters) = MethodTargets.Resolve(assembly, path, type, name, [parameter]);
        return (method, parameters[0], method.ReturnType);
    }
}
