package dev.imgscale.daemon.stack;

import dev.imgscale.daemon.stack.InitReport.Resource;
import java.util.List;

/**
 * What {@link StackProvisioner#destroy} removed, one step per queue, bucket and parameter set.
 *
 * @param stack the stack's name
 * @param steps the steps, in order
 */
public record DestroyReport(String stack, List<Step> steps) implements StackReport<DestroyReport.Step> {

    /** What destroy did to one thing. */
    public enum Outcome implements StackReport.Outcome {
        /** It existed; destroy deleted it. */
        DELETED("deleted"),
        /** It did not exist (already destroyed, or never created). */
        ALREADY_GONE("already gone");

        private final String label;

        Outcome(String label) {
            this.label = label;
        }

        @Override
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
    public record Step(Resource resource, String name, Outcome outcome, String detail) implements StackReport.Step {
        public Step {
            detail = StackReport.Step.checked(resource, name, outcome, detail);
        }
    }

    public DestroyReport {
        steps = List.copyOf(steps);
    }

    /** True when destroy deleted anything. */
    public boolean deletedAnything() {
        return steps.stream().anyMatch(s -> s.outcome() == Outcome.DELETED);
    }
}
