package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.S3Lease;
import dev.imgscale.daemon.port.ControllerLease;
import dev.imgscale.daemon.aws.Ec2Fleet;
import dev.imgscale.daemon.aws.Ec2FleetConfig;
import dev.imgscale.daemon.local.FileLease;
import dev.imgscale.daemon.port.Fleet;
import dev.imgscale.daemon.local.LocalProcessFleet;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackOpener;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds the fleet and the controller lease a stack's controller runs with. */
final class FleetWiring {
    private FleetWiring() {
    }

    /** The folder of the local fleet's instance records for a stack. */
    static Path localRegistry(Map<String, String> env, String stack) {
        return StackOpener.home(env).resolve("fleet").resolve(stack);
    }

    /** {@code imgscale worker --local ...} as a child process of this same binary. */
    static List<String> localWorkerCommand(StackContext stack, double bootDelay, long idleExit) {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-XX:+UseSerialGC"));
        // the JIT choice bin/imgscale made for this process (C1 only by default), for the workers too
        cmd.addAll(jitOptions(ManagementFactory.getRuntimeMXBean().getInputArguments()));
        // The class data sharing archive bin/imgscale gave this process (same jar, so it is valid for
        // the child too): each scale-out then starts about a second sooner.
        String archive = System.getProperty("imgscale.cds");
        if (archive != null && Files.isRegularFile(Path.of(archive))) {
            cmd.add("-XX:SharedArchiveFile=" + archive);
            cmd.add("-Dimgscale.cds=" + archive);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "worker", "--local",
                "--stack", stack.config().names().stack(), "--idle-exit", String.valueOf(idleExit)));
        cmd.removeIf(String::isEmpty);
        if (bootDelay > 0) {
            cmd.add("--boot-delay");
            cmd.add(String.valueOf(bootDelay));
        }
        return cmd;
    }

    /** The JIT options among a JVM's arguments (tiered compilation and its stop level), to pass on to a child JVM. */
    static List<String> jitOptions(List<String> jvmArguments) {
        List<String> out = new ArrayList<>();
        for (String arg : jvmArguments) {
            if (arg.startsWith("-XX:TieredStopAtLevel=") || arg.equals("-XX:-TieredCompilation") || arg.equals("-XX:+TieredCompilation")) {
                out.add(arg);
            }
        }
        return out;
    }

    static Fleet fleet(String kind, StackContext stack, Map<String, String> env, double bootDelay, long idleExit) {
        return switch (kind) {
            case "local" -> {
                if (!stack.config().local()) {
                    throw new ImgscaleException("--fleet local runs workers against the local stack: add --local.");
                }
                yield new LocalProcessFleet(localRegistry(env, stack.config().names().stack()), stack.config().names().stack(),
                        localWorkerCommand(stack, bootDelay, idleExit), env, Clock.systemUTC());
            }
            case "ec2" -> {
                if (stack.config().local()) {
                    throw new ImgscaleException("--fleet ec2 launches EC2 instances: it cannot serve the local stack (use --fleet local).");
                }
                yield new Ec2Fleet(stack.clients().ec2(), Ec2FleetConfig.fromValues(stack.config().values()));
            }
            default -> throw new ImgscaleException("--fleet must be local or ec2, not " + kind + ".");
        };
    }

    static ControllerLease lease(String kind, StackContext stack, Map<String, String> env) {
        if ("local".equals(kind)) {
            return new FileLease(localRegistry(env, stack.config().names().stack()).resolve("controller.lock"));
        }
        String owner = ProcessHandle.current().pid() + "@" + hostName();
        return new S3Lease(stack.clients().s3(), stack.config().names().outputBucket(), owner, Duration.ofSeconds(30), Clock.systemUTC());
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
