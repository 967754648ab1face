using System.Globalization;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Dragon.Tests.Packaging;

/// <summary>
/// A public API as a set of names: <c>T:Type</c>, <c>P:Type.Property</c>, <c>E:Type.Event</c>, <c>F:Type.Field</c> and
/// <c>M:Type.Method N</c> with N its number of overloads (constructors are <c>.ctor</c>, operators their metadata names).
/// Generic types are written as the PublicAPI files write them, <c>Dragon.DragonQueue&lt;T&gt;</c>.
/// </summary>
internal static class PublicApiNames
{
    private static readonly string[] s_modifiers = ["override", "static", "virtual", "abstract", "sealed", "const", "readonly", "new", "required", "event"];

    private static readonly Dictionary<string, string> s_operators = new(StringComparer.Ordinal)
    {
        ["operator =="] = "op_Equality", ["operator !="] = "op_Inequality", ["operator <"] = "op_LessThan", ["operator >"] = "op_GreaterThan",
        ["operator <="] = "op_LessThanOrEqual", ["operator >="] = "op_GreaterThanOrEqual", ["operator +"] = "op_Addition", ["operator -"] = "op_Subtraction",
        ["operator *"] = "op_Multiply", ["operator /"] = "op_Division", ["operator %"] = "op_Modulus", ["operator !"] = "op_LogicalNot",
        ["operator true"] = "op_True", ["operator false"] = "op_False",
    };

    /// <summary>Names from the lines of PublicAPI.Shipped.txt and PublicAPI.Unshipped.txt (the analyzer's format).</summary>
    public static HashSet<string> FromDeclarations(IEnumerable<string> lines)
    {
        var declarations = new List<(string Head, bool IsEvent)>();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith("//", StringComparison.Ordinal) || line.StartsWith("*REMOVED*", StringComparison.Ordinal))
            {
                continue;
            }

            var isEvent = false;
            string? word;
            while ((word = s_modifiers.FirstOrDefault(m => line.StartsWith(m + " ", StringComparison.Ordinal))) is not null)
            {
                isEvent |= word == "event";
                line = line[(word.Length + 1)..];
            }

            var arrow = line.IndexOf(" -> ", StringComparison.Ordinal);

            // The analyzer writes a field-like event as a field: no keyword, its type an event handler.
            isEvent |= arrow >= 0 && !line.Contains('(', StringComparison.Ordinal) && !line.Contains(" = ", StringComparison.Ordinal)
                && line[(arrow + 4)..].StartsWith("System.EventHandler", StringComparison.Ordinal);
            declarations.Add((arrow >= 0 ? line[..arrow] : line, isEvent));
        }

        // A line with no signature, value or accessor declares a type.
        var types = declarations.Where(d => !d.Head.Contains('(', StringComparison.Ordinal) && !d.Head.Contains(" = ", StringComparison.Ordinal) && !IsAccessor(d.Head) && !d.IsEvent)
            .Select(d => d.Head).ToHashSet(StringComparer.Ordinal);
        var methods = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = types.Select(t => "T:" + t).ToHashSet(StringComparer.Ordinal);
        foreach (var (head, isEvent) in declarations.Where(d => !types.Contains(d.Head)))
        {
            var paren = head.IndexOf('(', StringComparison.Ordinal);
            var path = paren >= 0 ? head[..paren] : head.Split(" = ")[0];
            var isProperty = paren < 0 && IsAccessor(path);
            if (isProperty)
            {
                path = path[..path.LastIndexOf('.')];
            }

            var type = types.Where(t => path.StartsWith(t + ".", StringComparison.Ordinal)).MaxBy(t => t.Length)
                ?? throw new FormatException($"no declared type owns '{head}'");
            var member = path[(type.Length + 1)..];
            if (member.StartsWith("this[", StringComparison.Ordinal))
            {
                member = "Item";
            }

            if (paren < 0)
            {
                names.Add((isProperty || member == "Item" ? "P:" : isEvent ? "E:" : "F:") + type + "." + member);
                continue;
            }

            member = member.Split('<')[0] == SimpleName(type) ? ".ctor"
                : s_operators.TryGetValue(member, out var op) ? op
                : member.StartsWith("implicit operator", StringComparison.Ordinal) ? "op_Implicit"
                : member.StartsWith("explicit operator", StringComparison.Ordinal) ? "op_Explicit"
                : member.StartsWith('~') ? "Finalize"
                : member.StartsWith("<Clone>$", StringComparison.Ordinal) ? "<Clone>$"
                : member.Split('<')[0];
            var key = type + "." + member;
            methods[key] = methods.GetValueOrDefault(key) + 1;
        }

        names.UnionWith(methods.Select(m => string.Create(CultureInfo.InvariantCulture, $"M:{m.Key} {m.Value}")));
        return names;
    }

    /// <summary>Names of the public and protected surface of an assembly, read from its metadata.</summary>
    public static HashSet<string> FromAssembly(byte[] assembly)
    {
        using var pe = new PEReader(new MemoryStream(assembly));
        var reader = pe.GetMetadataReader();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var handle in reader.TypeDefinitions)
        {
            var type = reader.GetTypeDefinition(handle);
            if (!IsVisible(reader, type))
            {
                continue;
            }

            var typeName = TypeName(reader, type);
            names.Add("T:" + typeName);
            var methods = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var method in type.GetMethods().Select(reader.GetMethodDefinition))
            {
                var name = reader.GetString(method.Name);
                var accessor = (method.Attributes & MethodAttributes.SpecialName) != 0 && (name.StartsWith("get_", StringComparison.Ordinal) || name.StartsWith("set_", StringComparison.Ordinal)
                    || name.StartsWith("add_", StringComparison.Ordinal) || name.StartsWith("remove_", StringComparison.Ordinal));
                if (IsVisible(method.Attributes & MethodAttributes.MemberAccessMask) && !accessor)
                {
                    methods[name] = methods.GetValueOrDefault(name) + 1;
                }
            }

            names.UnionWith(methods.Select(m => string.Create(CultureInfo.InvariantCulture, $"M:{typeName}.{m.Key} {m.Value}")));
            foreach (var property in type.GetProperties().Select(reader.GetPropertyDefinition))
            {
                var accessors = property.GetAccessors();
                if (new[] { accessors.Getter, accessors.Setter }.Any(a => !a.IsNil && IsVisible(reader.GetMethodDefinition(a).Attributes & MethodAttributes.MemberAccessMask)))
                {
                    names.Add($"P:{typeName}.{reader.GetString(property.Name)}");
                }
            }

            foreach (var ev in type.GetEvents().Select(reader.GetEventDefinition))
            {
                var adder = ev.GetAccessors().Adder;
                if (!adder.IsNil && IsVisible(reader.GetMethodDefinition(adder).Attributes & MethodAttributes.MemberAccessMask))
                {
                    names.Add($"E:{typeName}.{reader.GetString(ev.Name)}");
                }
            }

            foreach (var field in type.GetFields().Select(reader.GetFieldDefinition))
            {
                var name = reader.GetString(field.Name);
                var access = field.Attributes & FieldAttributes.FieldAccessMask;
                if ((access is FieldAttributes.Public or FieldAttributes.Family or FieldAttributes.FamORAssem) && name != "value__")
                {
                    names.Add($"F:{typeName}.{name}");
                }
            }
        }

        return names;
    }

    private static bool IsAccessor(string path) =>
        path.EndsWith(".get", StringComparison.Ordinal) || path.EndsWith(".set", StringComparison.Ordinal) || path.EndsWith(".init", StringComparison.Ordinal);

    private static string SimpleName(string type)
    {
        var name = type.Split('<')[0];
        return name[(name.LastIndexOf('.') + 1)..];
    }

    private static bool IsVisible(MethodAttributes access) =>
        access is MethodAttributes.Public or MethodAttributes.Family or MethodAttributes.FamORAssem;

    private static bool IsVisible(MetadataReader reader, TypeDefinition type)
    {
        var visibility = type.Attributes & TypeAttributes.VisibilityMask;
        if (!type.GetDeclaringType().IsNil)
        {
            return visibility is TypeAttributes.NestedPublic or TypeAttributes.NestedFamily or TypeAttributes.NestedFamORAssem
                && IsVisible(reader, reader.GetTypeDefinition(type.GetDeclaringType()));
        }

        return visibility == TypeAttributes.Public;
    }

    /// <summary><c>Namespace.Outer.Name&lt;T&gt;</c>, as the PublicAPI files write a type.</summary>
    private static string TypeName(MetadataReader reader, TypeDefinition type)
    {
        var name = reader.GetString(type.Name);
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick >= 0)
        {
            var own = int.Parse(name[(tick + 1)..], CultureInfo.InvariantCulture);
            var parameters = type.GetGenericParameters().Select(p => reader.GetString(reader.GetGenericParameter(p).Name)).ToArray();
            name = $"{name[..tick]}<{string.Join(", ", parameters[^own..])}>";
        }

        var declaring = type.GetDeclaringType();
        return declaring.IsNil
            ? $"{reader.GetString(type.Namespace)}.{name}"
            : $"{TypeName(reader, reader.GetTypeDefinition(declaring))}.{name}";
    }
}
