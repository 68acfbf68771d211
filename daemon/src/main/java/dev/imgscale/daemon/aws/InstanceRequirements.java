package dev.imgscale.daemon.aws;

import dev.imgscale.classifier.ImgscaleException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import software.amazon.awssdk.services.ec2.model.InstanceRequirementsRequest;

/**
 * Attribute-based instance type selection ({@code ec2-instance-requirements}): instead of naming
 * types, a range of vCPUs and of memory, and EC2 Fleet considers every current type that fits (of
 * the AMI's architecture), which is the widest set of Spot pools to choose from.
 *
 * <p>Written {@code vcpus=2-8,memory-gib=4-32}; a range may leave its maximum open ({@code vcpus=2-})
 * or be one number ({@code vcpus=4}). Both keys are required, as EC2 requires them.
 *
 * @param minVcpus     at least this many vCPUs
 * @param maxVcpus     at most this many, or null for no maximum
 * @param minMemoryMib at least this much memory, in MiB
 * @param maxMemoryMib at most this much, or null for no maximum
 */
public record InstanceRequirements(int minVcpus, Integer maxVcpus, int minMemoryMib, Integer maxMemoryMib) {
    static final String EXAMPLE = "vcpus=2-8,memory-gib=4-32";

    public InstanceRequirements {
        if (minVcpus < 1 || (maxVcpus != null && maxVcpus < minVcpus)) {
            throw bad("vcpus must be a range of at least 1 whose maximum is not below its minimum");
        }
        if (minMemoryMib < 0 || (maxMemoryMib != null && maxMemoryMib < minMemoryMib)) {
            throw bad("memory-gib must be a range whose maximum is not below its minimum");
        }
    }

    /** Parses {@code vcpus=2-8,memory-gib=4-32}; null for a blank value. */
    public static InstanceRequirements parse(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        Map<String, String> parts = new LinkedHashMap<>();
        for (String part : text.split(",")) {
            String[] kv = part.split("=", 2);
            String key = kv[0].strip().toLowerCase(Locale.ROOT);
            if (kv.length != 2 || !(key.equals("vcpus") || key.equals("memory-gib")) || parts.put(key, kv[1].strip()) != null) {
                throw bad("'" + part.strip() + "' is not vcpus=RANGE or memory-gib=RANGE (each once)");
            }
        }
        if (parts.size() != 2) {
            throw bad("it needs both vcpus and memory-gib");
        }
        double[] vcpus = range(parts.get("vcpus"), "vcpus");
        double[] memory = range(parts.get("memory-gib"), "memory-gib");
        if (vcpus[0] != Math.rint(vcpus[0]) || (!Double.isNaN(vcpus[1]) && vcpus[1] != Math.rint(vcpus[1]))) {
            throw bad("vcpus must be whole numbers");
        }
        return new InstanceRequirements((int) vcpus[0], Double.isNaN(vcpus[1]) ? null : (int) vcpus[1],
                (int) Math.round(memory[0] * 1024), Double.isNaN(memory[1]) ? null : (int) Math.round(memory[1] * 1024));
    }

    /** What EC2 Fleet's overrides carry. */
    InstanceRequirementsRequest toRequest() {
        return InstanceRequirementsRequest.builder()
                .vCpuCount(v -> v.min(minVcpus).max(maxVcpus))
                .memoryMiB(m -> m.min(minMemoryMib).max(maxMemoryMib))
                .build();
    }

    /** The configuration value's form, for messages: {@code vcpus=2-8,memory-gib=4-32}. */
    @Override
    public String toString() {
        return "vcpus=" + minVcpus + "-" + (maxVcpus == null ? "" : maxVcpus) + ",memory-gib=" + gib(minMemoryMib) + "-"
                + (maxMemoryMib == null ? "" : gib(maxMemoryMib));
    }

    private static String gib(int mib) {
        return mib % 1024 == 0 ? String.valueOf(mib / 1024) : String.format(Locale.ROOT, "%.2f", mib / 1024.0);
    }

    /** {min, max or NaN}. */
    private static double[] range(String value, String key) {
        String[] ends = value.split("-", -1);
        try {
            if (ends.length == 1) {
                double n = Double.parseDouble(ends[0].strip());
                return new double[] {n, n};
            }
            if (ends.length == 2) {
                return new double[] {Double.parseDouble(ends[0].strip()),
                        ends[1].isBlank() ? Double.NaN : Double.parseDouble(ends[1].strip())};
            }
        } catch (NumberFormatException e) {
            // falls through to the refusal below
        }
        throw bad(key + "=" + value + " is not a number or a range like 2-8 or 2-");
    }

    private static ImgscaleException bad(String why) {
        return new ImgscaleException(Ec2FleetConfig.KEY_INSTANCE_REQUIREMENTS + " must be like " + EXAMPLE + ": " + why + ".");
    }
}
