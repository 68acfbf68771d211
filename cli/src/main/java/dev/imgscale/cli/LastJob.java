package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.stack.StackContext;
import dev.imgscale.daemon.stack.StackOpener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** The last job uploaded from this machine to a stack, so `results` needs no --job. */
final class LastJob {
    private LastJob() {
    }

    private static Path file(Map<String, String> env, StackContext stack) {
        String kind = stack.config().local() ? "local-" : "aws-";
        return StackOpener.home(env).resolve("last-job").resolve(kind + stack.config().names().stack());
    }

    static void record(Map<String, String> env, StackContext stack, String job) {
        Path file = file(env, stack);
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(file, job + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            // not fatal: the job id was printed, so --job still works
        }
    }

    static Optional<String> read(Map<String, String> env, StackContext stack) {
        try {
            Path file = file(env, stack);
            return Files.isRegularFile(file) ? Optional.of(Files.readString(file, StandardCharsets.UTF_8).strip()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The job given, or the last one uploaded from here, or a user error. */
    static String resolve(String given, Map<String, String> env, StackContext stack) {
        if (given != null) {
            return given;
        }
        return read(env, stack).orElseThrow(() -> new ImgscaleException(
                "No job given and none uploaded from this machine to stack " + stack.config().names().stack() + "; pass --job ID."));
    }
}
