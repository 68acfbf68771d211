package dev.imgscale.cli;

import dev.imgscale.classifier.ImgscaleException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * The one place where failures become messages and exit codes: a known failure prints one
 * sentence on stderr and exits 1; anything else is a bug, reported with its stack trace.
 */
final class ErrorHandler implements IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
        PrintWriter err = cmd.getErr();
        Throwable known = knownCause(ex);
        if (known != null) {
            err.println(cmd.getColorScheme().errorText("imgscale: " + known.getMessage()));
            if (VerboseMixin.isVerbose()) {
                ex.printStackTrace(err);
            }
            err.flush();
            return ExitCodes.FAILURE;
        }
        err.println(cmd.getColorScheme().errorText("imgscale: internal error (" + ex + "); please report it with this trace:"));
        ex.printStackTrace(err);
        err.flush();
        return ExitCodes.FAILURE;
    }

    private static Throwable knownCause(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof ImgscaleException) {
                return t;
            }
        }
        return null;
    }
}
