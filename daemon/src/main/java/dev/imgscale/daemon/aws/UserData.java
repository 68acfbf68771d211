package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.wire.StackNames;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/**
 * The user-data script that turns an instance of the worker AMI (built by {@code packer/}, which
 * installs {@value #UNIT}) into a worker of one stack. It names the stack's SSM path and the idle
 * exit and nothing else: no credentials (the instance role provides them), no bucket or queue names
 * (the worker reads them from SSM). User data is readable by anyone who can call
 * {@code ec2:DescribeInstanceAttribute} and from inside the instance, so it must stay that way.
 *
 * <p>What the script does, as root, once, at first boot (cloud-init):
 * <ol>
 *   <li>if the AMI lacks the unit, it says so on the console and powers off, which
 *       {@code InstanceInitiatedShutdownBehavior=terminate} turns into termination, so a wrong AMI
 *       costs one minute instead of an idle instance forever;</li>
 *   <li>writes {@value #ENV_FILE} with {@code IMGSCALE_WORKER_ARGS}, which the unit passes to
 *       {@code imgscale worker};</li>
 *   <li>adds a drop-in that powers the instance off when the worker exits for good (idle exit,
 *       drain, or restarts exhausted), so an instance never outlives its worker;</li>
 *   <li>enables and starts the unit without waiting for it ({@code --no-block}: the unit may be
 *       ordered after cloud-init itself).</li>
 * </ol>
 */
public final class UserData {
    /** The systemd unit the worker AMI provides. */
    public static final String UNIT = "imgscale-worker.service";
    /** Where the script writes the worker's arguments; the unit reads it as an EnvironmentFile. */
    public static final String ENV_FILE = "/etc/imgscale/worker.env";
    /** The drop-in that ends the instance with its worker, and its directory. */
    public static final String DROP_IN_DIR = "/etc/systemd/system/" + UNIT + ".d";
    public static final String DROP_IN = DROP_IN_DIR + "/50-imgscale-fleet.conf";
    /** EC2 refuses user data above 16 KB before base64. */
    static final int MAX_BYTES = 16 * 1024;

    private UserData() {
    }

    /**
     * The worker's command-line arguments: {@code --config ssm:/imgscale/<stack> --worker-id imds
     * --idle-exit N}. {@code --worker-id imds} makes the worker report under its instance id (read
     * from IMDSv2), the id the fleet lists, so the controller can match reports to instances.
     */
    public static String workerArgs(String stack, Duration idleExit) {
        StackNames.checkStack(stack);
        if (idleExit == null || idleExit.isNegative() || idleExit.isZero()) {
            throw new IllegalArgumentException("idleExit must be positive: " + idleExit);
        }
        return "--config ssm:/imgscale/" + stack + " --worker-id imds --idle-exit " + idleExit.toSeconds();
    }

    /** The script for a stack's workers (plain text). */
    public static String script(String stack, Duration idleExit) {
        // The stack name is [a-z0-9-] (checked in workerArgs) and the idle exit a number, so nothing
        // interpolated below can break out of the quoted here-documents.
        String args = workerArgs(stack, idleExit);
        return """
                #!/bin/bash
                # imgscale worker bootstrap for stack %1$s, written by the imgscale controller.
                # It names the stack's SSM path only: settings come from SSM Parameter Store and
                # credentials from the instance profile, never from user data.
                set -euo pipefail

                unit=%2$s

                if ! systemctl cat "$unit" >/dev/null 2>&1; then
                    echo "imgscale: this AMI has no $unit; build the worker AMI with packer/. Powering off." >&2
                    # InstanceInitiatedShutdownBehavior=terminate: powering off terminates the instance.
                    shutdown -h now
                    exit 1
                fi

                install -d -m 0755 /etc/imgscale
                cat >%3$s <<'EOF'
                IMGSCALE_WORKER_ARGS="%4$s"
                EOF
                chmod 0644 %3$s

                # The instance exists only to run the worker: when it exits for good (idle exit, drain,
                # or restarts exhausted), power off, which terminates the instance.
                install -d -m 0755 %6$s
                cat >%5$s <<'EOF'
                [Unit]
                SuccessAction=poweroff
                FailureAction=poweroff
                EOF

                systemctl daemon-reload
                systemctl enable --now --no-block "$unit"
                """.formatted(stack, UNIT, ENV_FILE, args, DROP_IN, DROP_IN_DIR);
    }

    /**
     * The script base64-encoded, as RunInstances wants its {@code UserData} (the SDK does not
     * encode it).
     */
    public static String base64(String stack, Duration idleExit) {
        byte[] bytes = script(stack, idleExit).getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_BYTES) {
            throw new IllegalStateException("user data is " + bytes.length + " bytes; EC2 takes at most " + MAX_BYTES);
        }
        return Base64.getEncoder().encodeToString(bytes);
    }
}
