package dev.imgscale.cli;

import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * What every subcommand needs, mixed in with one line ({@code @Mixin CommandContext context}): the
 * environment the command line runs in (tests pass their own), where to print (picocli's writers,
 * so tests capture what a command prints), and {@code -v}.
 */
public final class CommandContext {
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Mixin
    VerboseMixin verbose;

    /** The environment of the {@code imgscale} command line this command belongs to. */
    Map<String, String> env() {
        return ((ImgscaleCommand) command.root().userObject()).env();
    }

    /** For picocli's own errors ({@code ParameterException}) about this command's arguments. */
    CommandLine commandLine() {
        return command.commandLine();
    }

    PrintWriter out() {
        return command.commandLine().getOut();
    }

    PrintWriter err() {
        return command.commandLine().getErr();
    }

    /** Whether this command was given {@code -v}. */
    boolean verbose() {
        return verbose.given();
    }
}
