package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.stack.InitReport.Resource;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What the reports of init ({@link InitReport}) and destroy ({@link DestroyReport}) share: steps
 * that each name a resource and print as one line. They differ only in their outcomes.
 *
 * @param <S> the report's step
 */
public interface StackReport<S extends StackReport.Step> {

    /** The steps, in order. */
    List<S> steps();

    /** The step for one resource, if the report's command dealt with it. */
    default Optional<S> step(Resource resource, String name) {
        return steps().stream().filter(s -> s.resource() == resource && s.name().equals(name)).findFirst();
    }

    /** One line per step, for printing. */
    default List<String> lines() {
        return steps().stream().map(Step::line).toList();
    }

    /** What a command did to one thing, as it reads in a report: {@code created}, {@code deleted}, ... */
    interface Outcome {
        String label();
    }

    /** One step: what kind of thing, its name, what was done to it and anything to add. */
    interface Step {
        Resource resource();

        String name();

        Outcome outcome();

        String detail();

        /** {@code queue imgscale-requests: updated (VisibilityTimeout 60 -> 90)}. */
        default String line() {
            return resource().describe(name()) + ": " + outcome().label() + (detail().isEmpty() ? "" : " (" + detail() + ")");
        }

        /** For a step's constructor: checks that resource, name and outcome are given; the detail, "" for null. */
        static String checked(Resource resource, String name, Outcome outcome, String detail) {
            Objects.requireNonNull(resource, "resource");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(outcome, "outcome");
            return detail == null ? "" : detail;
        }
    }
}
