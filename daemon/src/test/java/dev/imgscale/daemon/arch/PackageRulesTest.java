package dev.imgscale.daemon.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.daemon.wire.Keys;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The daemon's packages point one way. Reads the compiled classes (every class, descriptor and
 * signature in each constant pool, so a type used only in a generic or a lambda counts too) and
 * fails on a dependency the table below does not allow, on a package the table does not know,
 * and on any cycle between packages.
 *
 * <p>The layers, lowest first: {@code wire} (the formats stored and sent), {@code cost} (request
 * counts and their prices), {@code time} (the clock and scheduler the loops read, faked in unit
 * tests) and {@code port} (the interfaces of the outside world); {@code shard} (tar shards) and
 * {@code source} (images in place), both over the object store port; {@code aws}, the production
 * adapters, which never know the
 * development stack; {@code local}, the adapters of the one-machine stack; {@code stack}, which
 * chooses between them; and the applications on top.
 */
class PackageRulesTest {
    private static final String ROOT = "dev/imgscale/daemon/";

    static final Map<String, Set<String>> ALLOWED = Map.ofEntries(
            Map.entry("wire", Set.of()),
            Map.entry("cost", Set.of()),
            Map.entry("time", Set.of()),
            Map.entry("port", Set.of("wire")),
            Map.entry("shard", Set.of("port", "wire")),
            Map.entry("source", Set.of("port", "wire")),
            Map.entry("aws", Set.of("cost", "port", "wire", "time")),
            Map.entry("local", Set.of("aws", "cost", "port", "wire", "time")),
            Map.entry("stack", Set.of("aws", "cost", "local", "port", "wire", "time")),
            Map.entry("worker", Set.of("cost", "shard", "source", "stack", "port", "wire", "time")),
            Map.entry("controller", Set.of("port", "wire", "time")),
            Map.entry("sim", Set.of("controller", "cost", "port", "wire", "time")),
            Map.entry("client", Set.of("cost", "shard", "source", "stack", "port", "wire", "time")),
            Map.entry("web", Set.of("client", "cost", "shard", "source", "stack", "port", "wire", "time")));

    @Test
    void should_only_depend_on_the_packages_the_layers_allow() throws IOException {
        Map<String, Set<String>> graph = dependencies(classesRoot());
        assertTrue(graph.containsKey("worker") && graph.containsKey("aws"), "read no classes: " + graph.keySet());
        List<String> broken = new ArrayList<>();
        for (Map.Entry<String, Set<String>> e : graph.entrySet()) {
            Set<String> allowed = ALLOWED.get(e.getKey());
            if (allowed == null) {
                broken.add("package " + e.getKey() + " is not in PackageRulesTest.ALLOWED: add it to a layer");
                continue;
            }
            for (String to : e.getValue()) {
                if (!allowed.contains(to)) {
                    broken.add(e.getKey() + " -> " + to);
                }
            }
        }
        assertEquals(List.of(), broken, "dependencies against the package rules (" + graph + ")");
    }

    @Test
    void should_have_no_cycle_between_packages() throws IOException {
        assertEquals(List.of(), cycles(dependencies(classesRoot())));
    }

    @Test
    void should_allow_no_cycle_itself() {
        // The table is the design: it must be acyclic, or the first test would accept a circle.
        Map<String, Set<String>> allowed = new TreeMap<>(ALLOWED);
        assertEquals(List.of(), cycles(allowed));
    }

    @Test
    void should_find_a_cycle_when_there_is_one() {
        Map<String, Set<String>> graph = new TreeMap<>(Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a")));
        assertEquals(List.of(List.of("a", "b", "c")), cycles(graph));
    }

    @Test
    void should_read_the_packages_a_class_refers_to() throws IOException {
        // Keys refers to no package of the daemon but its own; this test refers to wire (Keys).
        assertEquals(Set.of("wire"), referencedPackages(classBytes(Keys.class)));
        assertEquals(Set.of("wire"), referencedPackages(classBytes(PackageRulesTest.class)).stream()
                .filter(p -> !p.equals("arch")).collect(Collectors.toSet()));
    }

    private static byte[] classBytes(Class<?> type) throws IOException {
        try (var in = type.getResourceAsStream(type.getSimpleName() + ".class")) {
            return in.readAllBytes();
        }
    }

    private static Path classesRoot() {
        try {
            return Path.of(Keys.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Package (first segment under dev/imgscale/daemon) to the other packages its classes refer to. */
    static Map<String, Set<String>> dependencies(Path classes) throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        Path daemon = classes.resolve(ROOT);
        try (Stream<Path> files = Files.walk(daemon)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String pkg = daemon.relativize(file).getName(0).toString();
                if (pkg.endsWith(".class")) {
                    continue; // a class directly in dev.imgscale.daemon: none today
                }
                Set<String> to = graph.computeIfAbsent(pkg, k -> new TreeSet<>());
                for (String other : referencedPackages(Files.readAllBytes(file))) {
                    if (!other.equals(pkg)) {
                        to.add(other);
                    }
                }
            }
        }
        return graph;
    }

    private static final Pattern DAEMON_TYPE = Pattern.compile(ROOT + "(\\w+)/");

    /** Every daemon package named in the class's constant pool (class entries, descriptors, signatures). */
    static Set<String> referencedPackages(byte[] classFile) {
        Set<String> packages = new TreeSet<>();
        for (String utf8 : utf8Constants(classFile)) {
            Matcher m = DAEMON_TYPE.matcher(utf8);
            while (m.find()) {
                packages.add(m.group(1));
            }
        }
        return packages;
    }

    /** The CONSTANT_Utf8 entries of a class file (JVMS 4.4); every type name the class uses is one. */
    private static List<String> utf8Constants(byte[] classFile) {
        List<String> out = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(classFile))) {
            if (in.readInt() != 0xCAFEBABE) {
                throw new IllegalArgumentException("not a class file");
            }
            in.readUnsignedShort();
            in.readUnsignedShort();
            int count = in.readUnsignedShort();
            for (int i = 1; i < count; i++) {
                int tag = in.readUnsignedByte();
                switch (tag) {
                    case 1 -> out.add(in.readUTF());
                    case 7, 8, 16, 19, 20 -> in.skipNBytes(2);
                    case 15 -> in.skipNBytes(3);
                    case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipNBytes(4);
                    case 5, 6 -> {
                        in.skipNBytes(8);
                        i++; // long and double take two slots
                    }
                    default -> throw new IllegalArgumentException("unknown constant tag " + tag);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** The strongly connected components of more than one package (Tarjan), each sorted, in order. */
    static List<List<String>> cycles(Map<String, Set<String>> graph) {
        Map<String, Integer> index = new HashMap<>();
        Map<String, Integer> low = new HashMap<>();
        Deque<String> stack = new ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<List<String>> found = new ArrayList<>();
        int[] next = {0};
        for (String v : new TreeSet<>(graph.keySet())) {
            if (!index.containsKey(v)) {
                connect(v, graph, index, low, stack, onStack, found, next);
            }
        }
        found.sort((a, b) -> a.get(0).compareTo(b.get(0)));
        return found;
    }

    private static void connect(String v, Map<String, Set<String>> graph, Map<String, Integer> index, Map<String, Integer> low,
                                Deque<String> stack, Set<String> onStack, List<List<String>> found, int[] next) {
        index.put(v, next[0]);
        low.put(v, next[0]);
        next[0]++;
        stack.push(v);
        onStack.add(v);
        for (String w : graph.getOrDefault(v, Set.of())) {
            if (!index.containsKey(w)) {
                connect(w, graph, index, low, stack, onStack, found, next);
                low.put(v, Math.min(low.get(v), low.get(w)));
            } else if (onStack.contains(w)) {
                low.put(v, Math.min(low.get(v), index.get(w)));
            }
        }
        if (low.get(v).equals(index.get(v))) {
            List<String> component = new ArrayList<>();
            String w;
            do {
                w = stack.pop();
                onStack.remove(w);
                component.add(w);
            } while (!w.equals(v));
            if (component.size() > 1) {
                component.sort(null);
                found.add(component);
            }
        }
    }

    @Test
    void should_not_read_a_non_class_file() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> referencedPackages(new byte[] {1, 2, 3, 4, 0, 0, 0, 0, 0, 0}));
        assertEquals("not a class file", e.getMessage());
    }
}
