package dev.imgscale.daemon.stack;

import java.util.List;

/**
 * What {@link StackProvisioner#init} found and did: one step per resource and per protection of a
 * resource (public access block, encryption), in the order they were handled.
 *
 * @param stack the stack's name
 * @param steps the steps, in order
 */
public record InitReport(String stack, List<Step> steps) implements StackReport<InitReport.Step> {

    /** What init did to one thing. */
    public enum Outcome implements StackReport.Outcome {
        /** It did not exist; init created it. */
        CREATED("created"),
        /** It existed as wanted; init changed nothing. */
        ALREADY_THERE("already there"),
        /** It existed with other settings; init changed them. */
        UPDATED("updated"),
        /** The local stack's servers do not implement it (never on AWS, where it is a failure). */
        NOT_SUPPORTED("not supported here");

        private final String label;

        Outcome(String label) {
            this.label = label;
        }

        /** How the outcome reads in a report: {@code created}, {@code already there}, ... */
        @Override
        public String label() {
            return label;
        }
    }

    /** The things init and destroy deal with. */
    public enum Resource {
        BUCKET("bucket %s"),
        BUCKET_PUBLIC_ACCESS_BLOCK("bucket %s public access block"),
        BUCKET_ENCRYPTION("bucket %s encryption"),
        QUEUE("queue %s"),
        QUEUE_ENCRYPTION("queue %s encryption"),
        PARAMETERS("parameters %s"),
        LAUNCH_TEMPLATES("launch templates %s");

        private final String format;

        Resource(String format) {
            this.format = format;
        }

        /** {@code bucket my-bucket encryption}, for the resource called {@code name}. */
        public String describe(String name) {
            return String.format(format, name);
        }
    }

    /**
     * One step.
     *
     * @param resource what kind of thing
     * @param name     its name (bucket, queue, or where the parameters are kept)
     * @param outcome  what init did
     * @param detail   what changed or why it is not supported; empty when there is nothing to add
     */
    public record Step(Resource resource, String name, Outcome outcome, String detail) implements StackReport.Step {
        public Step {
            detail = StackReport.Step.checked(resource, name, outcome, detail);
        }
    }

    public InitReport {
        steps = List.copyOf(steps);
    }

    /** True when init created or changed anything. */
    public boolean changedAnything() {
        return steps.stream().anyMatch(s -> s.outcome() == Outcome.CREATED || s.outcome() == Outcome.UPDATED);
    }
}
