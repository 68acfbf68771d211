package dev.imgscale.daemon.iam;

import static dev.imgscale.daemon.testing.CommandRun.executable;
import static dev.imgscale.daemon.testing.CommandRun.onPath;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imgscale.daemon.aws.Ec2FleetConfig;
import dev.imgscale.daemon.aws.UserData;
import dev.imgscale.daemon.sim.Trace;
import dev.imgscale.daemon.stack.ConfigLoader;
import dev.imgscale.daemon.stack.StackConfig;
import dev.imgscale.daemon.testing.CommandRun;
import dev.imgscale.daemon.testing.CommandRun.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deployment files ({@code packer/}, {@code examples/}) against the code they configure, so
 * that they cannot drift from it: the user data example is what {@link UserData} writes, the
 * worker unit is the one that user data starts, the controller's settings parse as
 * {@link Ec2FleetConfig}, the config file and the traces parse, and the scripts do what they say
 * when run against stand-in {@code aws} and {@code imgscale} commands. What needs AWS (building the
 * AMI, launching instances, the IAM calls themselves) cannot run here.
 */
class DeploymentFilesTest {
    static final String STACK = "prod";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static Path repo(String path) {
        return IamPolicyTest.repo().resolve(path);
    }

    // ---- the worker: user data, AMI, unit ----

    @Test
    void should_ship_the_user_data_the_controller_generates() throws IOException {
        String expected = UserData.script(STACK, Ec2FleetConfig.DEFAULT_IDLE_EXIT);
        assertEquals(expected, Files.readString(repo("examples/user-data.sh")),
                "examples/user-data.sh must be exactly what UserData.script(\"" + STACK + "\", "
                        + Ec2FleetConfig.DEFAULT_IDLE_EXIT.toSeconds() + " s) writes; replace it with the expected text");
    }

    @Test
    void should_have_the_worker_unit_the_user_data_starts() throws IOException {
        Path file = repo("packer/systemd/" + UserData.UNIT);
        assertTrue(Files.isRegularFile(file), "the user data starts " + UserData.UNIT + "; packer/systemd/ must have it");
        Map<String, List<String>> unit = unit(file);

        assertEquals(List.of(UserData.ENV_FILE), unit.get("Service.EnvironmentFile"));
        assertEquals(List.of(UserData.ENV_FILE), unit.get("Unit.ConditionPathExists"));
        assertEquals(List.of("/opt/imgscale/bin/imgscale worker $IMGSCALE_WORKER_ARGS"), unit.get("Service.ExecStart"));
        // exit 0 means "done for good" (idle exit, drained): the user data's SuccessAction=poweroff ends the instance
        assertEquals(List.of("on-failure"), unit.get("Service.Restart"));
        assertEquals(List.of("imgscale"), unit.get("Service.User"));
        assertTrue(unit.get("Service.Environment").contains("IMGSCALE_ASSETS=/opt/imgscale/models"), unit.toString());
        for (String hardening : List.of("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                "PrivateDevices=yes", "CapabilityBoundingSet=", "RestrictSUIDSGID=yes")) {
            String[] kv = hardening.split("=", 2);
            assertEquals(List.of(kv[1]), unit.get("Service." + kv[0]), hardening);
        }
        assertTrue(unit.get("Service.ReadWritePaths").get(0).contains("/var/cache/imgscale"), unit.toString());
        assertFalse(unit.containsKey("Service.MemoryDenyWriteExecute"), "the JVM's JIT needs writable, executable memory");
    }

    @Test
    void should_never_restart_a_unit_that_exited_cleanly() throws IOException {
        for (String name : List.of("imgscale-worker.service", "imgscale-controller.service")) {
            Map<String, List<String>> unit = unit(repo("packer/systemd/" + name));
            assertEquals(List.of("on-failure"), unit.get("Service.Restart"), name);
            assertEquals(List.of("imgscale"), unit.get("Service.User"), name);
        }
    }

    @Test
    void should_install_what_the_units_and_the_launcher_expect() throws IOException {
        String install = Files.readString(repo("packer/scripts/install-worker.sh"));
        assertTrue(install.contains("prefix=/opt/imgscale\n"), "units run /opt/imgscale/bin/imgscale");
        assertTrue(install.contains("models=$prefix/models"), "units set IMGSCALE_ASSETS=/opt/imgscale/models");
        assertTrue(install.contains("\"$prefix/lib/imgscale.jar\""), "bin/imgscale looks for ../lib/imgscale.jar");
        assertTrue(install.contains("/tmp/" + UserData.UNIT), "the template uploads the units to /tmp");
        assertTrue(Files.readString(repo("bin/imgscale")).contains("$top/lib/imgscale.jar"),
                "the launcher, installed as /opt/imgscale/bin/imgscale, finds /opt/imgscale/lib/imgscale.jar");
    }

    @Test
    void should_bake_the_stacks_default_model_from_the_catalog() throws IOException {
        String hcl = Files.readString(repo("packer/worker.pkr.hcl"));
        Matcher models = Pattern.compile("variable \"models\" \\{[^}]*default\\s*=\\s*\\[\"([^\"]+)\"]", Pattern.DOTALL).matcher(hcl);
        assertTrue(models.find(), hcl);
        assertEquals(StackConfig.DEFAULT_AWS_MODEL, models.group(1), "the AMI must hold the model `imgscale init` records");
        // every local file the template names exists, relative to packer/
        Matcher paths = Pattern.compile("\\$\\{(?:abspath\\()?path\\.root\\)?}/([^\"]+)\"").matcher(hcl);
        int n = 0;
        while (paths.find()) {
            if (paths.group(1).endsWith(".jar")) {
                continue; // built by mvn package, after these tests
            }
            n++;
            assertTrue(Files.exists(repo("packer").resolve(paths.group(1)).normalize()), "packer/" + paths.group(1));
        }
        assertTrue(n >= 4, "the catalog, the launcher, the units, the install script: " + n);
    }

    /** systemd's own check of both units, with the drop-in the user data adds (where systemd-analyze exists). */
    @Test
    void should_pass_systemd_analyze_verify_with_the_user_datas_drop_in() throws Exception {
        assumeTrue(onPath("systemd-analyze") && Files.isDirectory(Path.of("/usr/lib/systemd/system")), "no systemd here");
        Path root = dir.resolve("root");
        Path units = Files.createDirectories(root.resolve("etc/systemd/system"));
        copySystemUnits(Path.of("/usr/lib/systemd/system"), root.resolve("usr/lib/systemd/system"));
        for (String name : List.of("imgscale-worker.service", "imgscale-controller.service")) {
            Files.copy(repo("packer/systemd/" + name), units.resolve(name));
        }
        Path dropIn = root.resolve(UserData.DROP_IN.substring(1));
        Files.createDirectories(dropIn.getParent());
        Matcher m = Pattern.compile("cat >" + Pattern.quote(UserData.DROP_IN) + " <<'EOF'\n(.*?)EOF\n", Pattern.DOTALL)
                .matcher(UserData.script(STACK, Ec2FleetConfig.DEFAULT_IDLE_EXIT));
        assertTrue(m.find());
        Files.writeString(dropIn, m.group(1));
        Path launcher = root.resolve("opt/imgscale/bin/imgscale");
        Files.createDirectories(launcher.getParent());
        executable(launcher, "#!/bin/sh\n");

        Result r = run(List.of("systemd-analyze", "verify", "--man=no", "--root=" + root, "imgscale-worker.service",
                "imgscale-controller.service"), null, null);

        assertEquals(0, r.exit(), r.output());
        assertEquals("", r.output().strip(), "systemd-analyze has warnings");
    }

    // ---- the controller ----

    @Test
    void should_configure_a_valid_ec2_fleet_in_the_controllers_environment_file() throws IOException {
        Map<String, String> env = envFile(repo("examples/controller/controller.env"), false);
        String args = env.get("IMGSCALE_CONTROLLER_ARGS");
        assertTrue(args.startsWith("--config ssm:/imgscale/" + STACK + " --fleet ec2 "), args);

        Map<String, String> values = new LinkedHashMap<>(ConfigLoader.fromEnvironment(env));
        values.put("stack", STACK);
        Ec2FleetConfig fromTemplate = Ec2FleetConfig.fromValues(values);
        assertTrue(fromTemplate.usesLaunchTemplate());
        assertEquals("imgscale-" + STACK + "-worker", fromTemplate.launchTemplate());

        // the commented alternative: explicit parameters instead of the template
        Map<String, String> explicit = new LinkedHashMap<>(ConfigLoader.fromEnvironment(envFile(repo("examples/controller/controller.env"), true)));
        explicit.remove("ec2-launch-template");
        explicit.put("stack", STACK);
        Ec2FleetConfig fromImage = Ec2FleetConfig.fromValues(explicit);
        assertFalse(fromImage.usesLaunchTemplate());
        assertEquals("imgscale-" + STACK + "-worker", fromImage.instanceProfile(), "the instance profile create-roles.sh makes");
    }

    @Test
    void should_start_the_controller_instance_with_the_same_arguments() throws IOException {
        String args = envFile(repo("examples/controller/controller.env"), false).get("IMGSCALE_CONTROLLER_ARGS");
        String userData = Files.readString(repo("examples/controller/controller-user-data.sh"));
        assertTrue(userData.contains("stack=" + STACK + "\n"), userData);
        assertTrue(userData.contains("IMGSCALE_CONTROLLER_ARGS=\"" + args.replace("/imgscale/" + STACK, "/imgscale/$stack") + "\""),
                userData);
        assertTrue(userData.contains("systemctl enable --now --no-block imgscale-controller.service"), userData);
    }

    @Test
    void should_have_a_launch_template_whose_settings_the_fleet_does_not_fight() throws IOException {
        String text = Files.readString(repo("examples/controller/launch-template.json"))
                .replace("{{ami}}", "ami-0123456789abcdef0").replace("{{security_group}}", "sg-0123456789abcdef0")
                .replace("{{stack}}", STACK);
        assertFalse(text.contains("{{"), text);
        JsonNode lt = JSON.readTree(text);
        // the fleet sets user data and tags itself; network interfaces would clash with ec2-subnets
        for (String owned : List.of("UserData", "TagSpecifications", "NetworkInterfaces", "SubnetId")) {
            assertFalse(lt.has(owned), owned + " must not be in the template: the fleet sets it");
        }
        assertEquals("required", lt.path("MetadataOptions").path("HttpTokens").asText());
        assertEquals("terminate", lt.path("InstanceInitiatedShutdownBehavior").asText());
        List<String> groups = new ArrayList<>();
        lt.path("SecurityGroupIds").forEach(g -> groups.add(g.asText()));
        // the same values as explicit parameters pass the fleet's own checks
        Ec2FleetConfig.withImage(STACK, lt.path("ImageId").asText(), lt.path("InstanceType").asText(),
                List.of("subnet-0123456789abcdef0"), groups, lt.path("IamInstanceProfile").path("Name").asText());
        assertEquals("imgscale-" + STACK + "-worker", lt.path("IamInstanceProfile").path("Name").asText(),
                "the controller policy lets it pass only the role imgscale-<stack>-worker");
    }

    // ---- other examples ----

    @Test
    void should_read_the_example_config_file() {
        Map<String, String> values = ConfigLoader.readFile(repo("examples/config"));
        Map<String, String> merged = ConfigLoader.merge(List.of(values), null); // unknown keys throw
        assertEquals(STACK, merged.get("stack"));
    }

    @Test
    void should_parse_every_sample_trace() throws IOException {
        List<Path> traces;
        try (Stream<Path> files = Files.list(repo("examples/traces"))) {
            traces = files.filter(f -> f.toString().endsWith(".csv")).sorted().toList();
        }
        assertTrue(traces.size() >= 3, traces.toString());
        for (Path t : traces) {
            Trace trace = Trace.parse(t.toString());
            assertTrue(trace.size() > 0, t.toString());
        }
        assertEquals(832, Trace.parse(repo("examples/traces/two-bursts.csv").toString()).size());
    }

    // ---- the scripts, against stand-ins ----

    @Test
    void should_label_only_new_files_each_night_and_keep_the_csv() throws Exception {
        Path inbox = Files.createDirectories(dir.resolve("inbox/sub"));
        Path out = dir.resolve("labels");
        Files.writeString(inbox.resolve("a.jpg"), "a");
        Files.writeString(inbox.getParent().resolve("b.png"), "b");
        Path log = dir.resolve("imgscale.log");
        Path fake = fakeImgscale(log);
        List<String> cmd = List.of("bash", repo("examples/cron/classify-nightly.sh").toString(), inbox.getParent().toString(),
                out.toString());

        Result first = run(cmd, Map.of("IMGSCALE", fake.toString()), null);

        assertEquals(0, first.exit(), first.output());
        assertEquals("upload --wait --output csv --timeout 21600 -\n" + "2 files\n", Files.readString(log), first.output());
        List<String> csv = Files.readAllLines(only(out, "labels-*.csv"));
        assertEquals("name,label,score,error", csv.get(0));
        assertEquals(3, csv.size(), csv.toString());
        assertTrue(Files.exists(out.resolve(".last-run")));

        Files.delete(log);
        Result nothing = run(cmd, Map.of("IMGSCALE", fake.toString()), null);
        assertEquals(0, nothing.exit(), nothing.output());
        assertTrue(nothing.output().contains("no new files"), nothing.output());
        assertFalse(Files.exists(log), "imgscale not called without new files");

        // a copy that keeps an old modification time is new all the same
        Path c = inbox.resolve("c.jpg");
        Files.writeString(c, "c");
        Files.setLastModifiedTime(c, FileTime.fromMillis(0));
        Result late = run(cmd, Map.of("IMGSCALE", fake.toString(), "FAKE_EXIT", "4"), null);
        assertEquals(4, late.exit(), late.output());
        assertEquals("upload --wait --output csv --timeout 21600 -\n1 files\n", Files.readString(log));
        assertTrue(Files.exists(only(out, "labels-*.csv.partial")), "the partial CSV is kept");

        Files.delete(log);
        Result retried = run(cmd, Map.of("IMGSCALE", fake.toString(), "FAKE_EXIT", "3"), null);
        assertEquals(3, retried.exit(), "timed-out images are tried again; partial success is exit 3: " + retried.output());
        assertEquals("upload --wait --output csv --timeout 21600 -\n1 files\n", Files.readString(log));
    }

    private static Path only(Path folder, String glob) throws IOException {
        List<Path> found = new ArrayList<>();
        try (var files = Files.newDirectoryStream(folder, glob)) {
            files.forEach(found::add);
        }
        assertTrue(found.size() >= 1, glob + " in " + folder);
        return found.get(0);
    }

    @Test
    void should_render_the_policies_as_the_test_checks_them() throws Exception {
        Path bin = fakeAws(dir.resolve("aws.log"), false);
        Path printed = dir.resolve("printed");

        Result r = run(List.of("bash", repo("examples/iam/create-roles.sh").toString(), "--print", printed.toString(),
                IamPolicyTest.STACK, IamPolicyTest.REGION), Map.of("FAKE_ACCOUNT", IamPolicyTest.ACCOUNT,
                "SOURCE_BUCKETS", String.join(",", IamPolicyTest.SOURCE_BUCKETS)), bin);

        assertEquals(0, r.exit(), r.output());
        for (IamPolicyTest.Role role : IamPolicyTest.ROLES) {
            Path file = printed.resolve("imgscale-" + IamPolicyTest.STACK + "-" + role.name() + ".json");
            assertEquals(IamPolicyTest.render(Files.readString(repo("examples/iam/" + role.policyFile()))), Files.readString(file),
                    file.toString());
        }
    }

    @Test
    void should_create_the_policies_roles_and_instance_profiles() throws Exception {
        Path log = dir.resolve("aws.log");
        Path bin = fakeAws(log, false);

        Result r = run(List.of("bash", repo("examples/iam/create-roles.sh").toString(), STACK, "eu-west-1"),
                Map.of("FAKE_ACCOUNT", "123456789012"), bin);

        assertEquals(0, r.exit(), r.output());
        List<String> calls = Files.readAllLines(log);
        for (String role : List.of("worker", "controller", "cli-user", "stack-admin")) {
            assertTrue(calls.stream().anyMatch(c -> c.startsWith("iam create-policy --policy-name imgscale-prod-" + role + " ")),
                    role + "\n" + String.join("\n", calls));
        }
        for (String name : List.of("imgscale-prod-worker", "imgscale-prod-controller")) {
            assertTrue(calls.contains("iam attach-role-policy --role-name " + name + " --policy-arn arn:aws:iam::123456789012:policy/"
                    + name), String.join("\n", calls));
            assertTrue(calls.contains("iam add-role-to-instance-profile --instance-profile-name " + name + " --role-name " + name),
                    String.join("\n", calls));
        }
        assertFalse(r.output().contains("unrendered"), r.output());
    }

    @Test
    void should_delete_everything_it_created() throws Exception {
        Path log = dir.resolve("aws.log");
        Path bin = fakeAws(log, true);

        Result r = run(List.of("bash", repo("examples/iam/create-roles.sh").toString(), "--delete", STACK),
                Map.of("FAKE_ACCOUNT", "123456789012"), bin);

        assertEquals(0, r.exit(), r.output());
        List<String> calls = Files.readAllLines(log);
        for (String name : List.of("imgscale-prod-worker", "imgscale-prod-controller")) {
            assertTrue(calls.contains("iam delete-instance-profile --instance-profile-name " + name), String.join("\n", calls));
            assertTrue(calls.contains("iam delete-role --role-name " + name), String.join("\n", calls));
        }
        assertEquals(4, calls.stream().filter(c -> c.startsWith("iam delete-policy --policy-arn")).count(), String.join("\n", calls));
    }

    // ---- helpers ----

    /** {@code Section.Key} → values, from a systemd unit file. */
    static Map<String, List<String>> unit(Path file) throws IOException {
        Map<String, List<String>> out = new LinkedHashMap<>();
        String section = "";
        for (String raw : Files.readAllLines(file)) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.startsWith("[")) {
                section = line.substring(1, line.length() - 1);
                continue;
            }
            int eq = line.indexOf('=');
            String value = line.substring(eq + 1);
            if (value.startsWith("\"") && value.endsWith("\"")) {
                value = value.substring(1, value.length() - 1);
            }
            out.computeIfAbsent(section + "." + line.substring(0, eq), k -> new ArrayList<>()).add(value);
        }
        return out;
    }

    /** NAME=value lines of an environment file; with {@code commented}, {@code #NAME=value} lines too. */
    static Map<String, String> envFile(Path file, boolean commented) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        Pattern line = Pattern.compile((commented ? "#?" : "") + "([A-Z_][A-Z0-9_]*)=(.*)");
        for (String raw : Files.readAllLines(file)) {
            Matcher m = line.matcher(raw.strip());
            if (m.matches()) {
                String value = m.group(2);
                if (value.startsWith("\"") && value.endsWith("\"")) {
                    value = value.substring(1, value.length() - 1);
                }
                out.put(m.group(1), value);
            }
        }
        return out;
    }

    /** An {@code imgscale} stand-in: logs its arguments and how many paths it read, prints a CSV row per path. */
    private Path fakeImgscale(Path log) throws IOException {
        Path fake = dir.resolve("fake-imgscale");
        executable(fake, """
                #!/bin/bash
                echo "$*" >>'%s'
                mapfile -t paths
                echo "${#paths[@]} files" >>'%s'
                echo name,label,score,error
                for p in "${paths[@]}"; do echo "$(basename "$p"),macaw,0.9,"; done
                exit "${FAKE_EXIT:-0}"
                """.formatted(log, log));
        return fake;
    }

    /**
     * An {@code aws} stand-in on PATH: logs each call, answers the account, and says that nothing
     * exists yet (or, with {@code exists}, that everything does). It fails any call given a
     * {@code file://} document that still has a placeholder.
     */
    private Path fakeAws(Path log, boolean exists) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        executable(bin.resolve("aws"), """
                #!/bin/bash
                echo "$*" >>'%s'
                for a in "$@"; do
                    case $a in file://*) if grep -q '{{' "${a#file://}"; then echo "unrendered ${a#file://}" >&2; exit 9; fi ;; esac
                done
                case "$1 $2" in
                    "sts get-caller-identity") echo "$FAKE_ACCOUNT" ;;
                    "configure get") exit 1 ;;
                    "iam get-policy" | "iam get-role" | "iam get-instance-profile") %s ;;
                    "iam list-policy-versions") echo v1 ;;
                esac
                exit 0
                """.formatted(log, exists ? "exit 0" : "exit 254"));
        return bin;
    }

    /** systemd's own units (targets, sockets) that verify resolves dependencies against; masked ones left out. */
    private static void copySystemUnits(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isSymbolicLink(p)) {
                    Path link = Files.readSymbolicLink(p);
                    if (!link.isAbsolute()) {
                        Files.createSymbolicLink(target, link);
                    }
                } else if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    private static Result run(List<String> command, Map<String, String> env, Path extraPath) throws Exception {
        return CommandRun.of(command).env(env).unset("AWS_REGION").pathFirst(extraPath).run(Duration.ofSeconds(60));
    }
}
