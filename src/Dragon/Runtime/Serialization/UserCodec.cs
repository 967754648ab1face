using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Dragon.Runtime.Serialization;

/// <summary>
/// The one codec for user values (method-target arguments, and messages in queues and connections):
/// System.Text.Json with public properties and fields, so a plain record or class needs no attributes.
/// Runtime objects (processes, groups, connections, queues, events...) are written as descriptors and
/// re-attach when read in another process.
/// </summary>
internal static class UserCodec
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            IncludeFields = true,
            MaxDepth = 256,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            TypeInfoResolver = CreateResolver(),
        };
        options.MakeReadOnly();
        return options;
    }

    /// <summary>
    /// Any type through reflection; in a Native AOT program (reflection-based serialization off by default),
    /// the built-in types: primitives, strings, arrays of them and the runtime objects, queues registered by
    /// their type initializer.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Reached only when reflection-based serialization is enabled.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Reached only when reflection-based serialization is enabled.")]
    private static IJsonTypeInfoResolver CreateResolver() =>
        JsonSerializer.IsReflectionEnabledByDefault
            ? new DefaultJsonTypeInfoResolver()
            : JsonTypeInfoResolver.Combine(BuiltInJsonContext.Default, new RegisteredRuntimeObjects());

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, Func<JsonSerializerOptions, JsonTypeInfo>> s_runtimeObjects = new();

    /// <summary>A generic runtime object type (a <c>Queue&lt;T&gt;</c> instantiation) says how it serializes without reflection.</summary>
    public static void RegisterRuntimeObject(Type type, Func<JsonSerializerOptions, JsonTypeInfo> create) => s_runtimeObjects[type] = create;

    /// <summary>Serves the registered runtime object types; running a type's initializer registers it.</summary>
    private sealed class RegisteredRuntimeObjects : IJsonTypeInfoResolver
    {
        [UnconditionalSuppressMessage("Trimming", "IL2059", Justification = "The type came from a method parameter or a value of this same program, so its initializer is compiled in.")]
        public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options)
        {
            if (!s_runtimeObjects.ContainsKey(type) && type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(DragonQueue<>) || type.GetGenericTypeDefinition() == typeof(DragonDictionary<,>)))
            {
                // A child decoding its arguments may meet the instantiation before anything else touched it.
                System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(type.TypeHandle);
            }

            return s_runtimeObjects.TryGetValue(type, out var create) ? create(options) : null;
        }
    }

    /// <summary>Types that cannot mean anything in another process, refused with a clear error.</summary>
    public static string? WhyNotSerializable(Type type)
    {
        if (typeof(Delegate).IsAssignableFrom(type))
        {
            return "a delegate cannot cross to another process";
        }

        if (typeof(Stream).IsAssignableFrom(type) || typeof(System.Runtime.InteropServices.SafeHandle).IsAssignableFrom(type)
            || type == typeof(IntPtr) || type == typeof(UIntPtr) || type.IsPointer
            || typeof(Task).IsAssignableFrom(type) || type == typeof(Thread) || typeof(System.Net.Sockets.Socket).IsAssignableFrom(type))
        {
            return $"{type.Name} is a handle to something in this process";
        }

        return null;
    }

    public static byte[] Serialize(object? value, Type type) => JsonSerializer.SerializeToUtf8Bytes(value, Options.GetTypeInfo(type));

    [ThreadStatic]
    private static bool t_validating;

    /// <summary>
    /// True while a value is read back only to check that it can be (at Start, in the parent): runtime objects
    /// then read as null instead of attaching, which would take a reference the parent never lets go of.
    /// </summary>
    public static bool Validating => t_validating;

    /// <summary>Reads a value back only to prove it deserializes; runtime objects in it are not attached.</summary>
    public static void CheckRoundTrip(object? value, Type type)
    {
        t_validating = true;
        try
        {
            _ = Deserialize(Serialize(value, type), type);
        }
        finally
        {
            t_validating = false;
        }
    }

    public static object? Deserialize(ReadOnlySpan<byte> utf8, Type type) => JsonSerializer.Deserialize(utf8, Options.GetTypeInfo(type));
}

/// <summary>What a Native AOT program can pass and send without reflection-based serialization.</summary>
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(ulong))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(float))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(Guid))]
[JsonSerializable(typeof(DateTime))]
[JsonSerializable(typeof(TimeSpan))]
[JsonSerializable(typeof(byte[]))]
[JsonSerializable(typeof(int[]))]
[JsonSerializable(typeof(long[]))]
[JsonSerializable(typeof(double[]))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(DragonProcess))]
[JsonSerializable(typeof(ProcessGroup))]
[JsonSerializable(typeof(Connection))]
[JsonSerializable(typeof(DragonEvent))]
[JsonSerializable(typeof(DragonBarrier))]
[JsonSerializable(typeof(DragonLock))]
[JsonSerializable(typeof(DragonSemaphore))]
internal sealed partial class BuiltInJsonContext : JsonSerializerContext;

/// <summary>A runtime object that travels between processes as a descriptor.</summary>
/// <typeparam name="TSelf">The implementing type.</typeparam>
internal interface IRuntimeObject<TSelf>
    where TSelf : class, IRuntimeObject<TSelf>
{
    /// <summary>Writes what another process needs to re-attach.</summary>
    void WriteDescriptor(Utf8JsonWriter writer);

    /// <summary>Re-attaches from a descriptor written by <see cref="WriteDescriptor"/>.</summary>
    static abstract TSelf FromDescriptor(JsonElement descriptor);
}

/// <summary>JSON converter that moves an <see cref="IRuntimeObject{TSelf}"/> as its descriptor.</summary>
/// <typeparam name="T">The runtime object type.</typeparam>
internal sealed class RuntimeObjectConverter<T> : JsonConverter<T>
    where T : class, IRuntimeObject<T>
{
    public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return UserCodec.Validating ? null : T.FromDescriptor(document.RootElement);
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        value.WriteDescriptor(writer);
        writer.WriteEndObject();
    }
}
