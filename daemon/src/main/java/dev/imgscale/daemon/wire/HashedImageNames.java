package dev.imgscale.daemon.wire;

/**
 * {@link ImageNames}' rule for a job of any size, in bounded memory: a collision suffix never takes
 * a name another input has, compared case-sensitively. Two passes over the inputs, in the same
 * order: {@link #claim} every input first, then {@link #unique} each. What is kept is not the names
 * but their hashes ({@link DistinctNames}, 16 bytes a name at a load of 0.35 to 0.7): the two sets
 * (the inputs' names, the names given out) take 46-92 MB per million images, where the names
 * themselves would take 100-200 MB and more each.
 *
 * <p>Why hashes are enough: equal names have equal hashes, so the two guarantees hold exactly: no
 * two inputs get one name (a name given out is in the set of given names), and no suffix takes
 * another input's name (every input's name is in the claimed set). A hash collision between two
 * different names could only make a free name look taken, so that an input gets a suffix it did
 * not need: a different but still valid naming, never a wrong one, and with 128-bit hashes a
 * chance under 10^-20 a job. With no collision it is exactly {@link ImageNames#assign}'s.
 */
public final class HashedImageNames {
    private final DistinctNames claimed = new DistinctNames();
    private final DistinctNames used = new DistinctNames();

    /** First pass: an input (a relative path) of the job. */
    public synchronized void claim(String relative) {
        claimed.add(ImageNames.sanitise(relative));
    }

    /** Second pass: the input's unique name (the first input with a name keeps it). */
    public synchronized String unique(String relative) {
        String name = ImageNames.sanitise(relative);
        if (used.add(name)) {
            return name;
        }
        return ImageNames.suffixed(name, candidate -> !claimed.contains(candidate) && used.add(candidate));
    }

    /** Names kept (hashes of inputs and of names given out), for tests of the memory bound. */
    public synchronized long hashesHeld() {
        return claimed.size() + used.size();
    }
}
