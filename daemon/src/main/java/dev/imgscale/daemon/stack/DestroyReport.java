package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.stack.InitReport.Resource;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link StackProvisioner#destroy} removed, one step per queue, bucket and parameter set.
 *
 * @param stack the stack's name
 * @param steps the steps, in order
 */
public record DestroyReport(String stack, List<Step> steps) {

    /** What destroy did to one thing. */
    public enum Outcome {
        /** It existed; destroy deleted it. */
        DELETED("deleted"),
        /** It did not exist (already destroyed, or never created). */
        ALREADY_GONE("already gone");

        private final String label;

        Outcome(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /**
     * One step.
     *
     * @param resource {@link Resource#BUCKET}, {@link Resource#QUEUE} or {@link Resource#PARAMETERS}
     * @param name     its name
     * @param outcome  what destroy did
     * @param detail   for example how many objects a bucket held; empty when there is nothing to add
     */
    public record Step(Resource resource, String name, Outcome outcome, String detail) {
        public Step {
            Objects.requireNonNull(resource, "resource");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(outcome, "outcome");
            detail = detail == null ? "" : detail;
        }

        /** {@code bucket imgscale-input: deleted (14 objects)}. */
        public String line() {
            return resource.describe(name) + ": " + outcome.label() + (detail.isEmpty() ? "" : " (" + detail + ")");
        }
    }

    public DestroyReport {
        steps = List.copyOf(steps);
    }

    /** The step for one resource, if destroy dealt with it. */
    public Optional<Step> step(Resource resource, String name) {
        return steps.stream().filter(s -> s.resource() == resource && s.name().equals(name)).findFirst();
    }

    /** True when destroy deleted anything. */
    public boolean deletedAnything() {
        return steps.stream().anyMatch(s -> s.outcome() == Outcome.DELETED);
    }

    /** One line per step, for printing. */
    public List<String> lines() {
        return steps.stream().map(Step::line).toList();
    }
}
