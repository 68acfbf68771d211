package dev.imgscale.daemon.aws;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.wire.StackNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * How {@link Ec2Fleet} launches workers: EITHER from a launch template (which then holds the AMI,
 * instance type, security groups, instance profile, key and volumes) OR from explicit parameters
 * (AMI, instance type, subnets, security groups, instance profile). Either way the fleet itself sets
 * what its correctness depends on: tags, IMDSv2, user data, shutdown behaviour and the client token.
 *
 * <p>Nothing here is secret, and the workers receive none of it: their user data names only the
 * stack's SSM path ({@link #configPath()}), from which they read the rest with their instance role.
 *
 * @param stack                 the stack's name; it scopes the tags the fleet lists and the SSM path
 * @param launchTemplate        a launch template id ({@code lt-...}) or name; null for explicit parameters
 * @param launchTemplateVersion the template's version: {@code $Latest} (the default), {@code $Default} or a number
 * @param ami                   the worker AMI ({@code ami-...}, built by {@code packer/}); null with a template
 * @param instanceType          e.g. {@code c7i.large}; null with a template
 * @param subnets               subnets to launch into; launches start at a different one per client token, and a
 *                              launch that finds no capacity in one moves on to the next. Required for explicit
 *                              parameters; optional with a template (empty: the template's own network settings)
 * @param securityGroups        security group ids ({@code sg-...}); null or empty with a template
 * @param instanceProfile       the workers' instance profile, by name or ARN; null with a template
 * @param keyName               an EC2 key pair for SSH; null for none (the usual case: use SSM Session Manager)
 * @param spot                  launch one-time Spot instances; when Spot has no capacity the launch fails and the
 *                              controller retries it later, still as Spot, unless {@code spotFallback} is on
 * @param rootVolumeGib         the root volume's size in GiB (gp3); null keeps the AMI's
 * @param idleExit              how long a worker waits without work before it exits (and its instance terminates):
 *                              the safety net that ends a fleet whose controller died
 * @param instanceTypes         several instance types ({@code ec2-instance-types}) instead of {@link #instanceType}:
 *                              launches then go through one EC2 Fleet call over every type and subnet ("pools",
 *                              see {@link PoolLauncher}), Spot with the price-capacity-optimized strategy. Empty: one
 *                              type, launched with RunInstances as before. Explicit parameters only
 * @param instanceRequirements  instead of naming types, a range of vCPUs and memory ({@code ec2-instance-requirements},
 *                              {@link InstanceRequirements}): EC2 Fleet then considers every type that fits; also
 *                              through {@link PoolLauncher}. Null: none
 * @param spotFallback          when Spot has no capacity in any pool, launch the rest On-Demand at once instead of
 *                              failing ({@code ec2-spot-fallback}; needs {@code ec2-spot}); what happened is logged and
 *                              kept in {@link Ec2Fleet#recentLaunches()}
 */
public record Ec2FleetConfig(String stack, String launchTemplate, String launchTemplateVersion, String ami,
                             String instanceType, List<String> subnets, List<String> securityGroups,
                             String instanceProfile, String keyName, boolean spot, Integer rootVolumeGib,
                             Duration idleExit, List<String> instanceTypes, InstanceRequirements instanceRequirements,
                             boolean spotFallback) {

    /** The configuration keys {@link #fromValues} reads. */
    public static final String KEY_LAUNCH_TEMPLATE = "ec2-launch-template";
    public static final String KEY_LAUNCH_TEMPLATE_VERSION = "ec2-launch-template-version";
    public static final String KEY_AMI = "ec2-ami";
    public static final String KEY_INSTANCE_TYPE = "ec2-instance-type";
    public static final String KEY_SUBNETS = "ec2-subnets";
    public static final String KEY_SECURITY_GROUPS = "ec2-security-groups";
    public static final String KEY_INSTANCE_PROFILE = "ec2-instance-profile";
    public static final String KEY_KEY_NAME = "ec2-key-name";
    public static final String KEY_SPOT = "ec2-spot";
    public static final String KEY_ROOT_VOLUME_GIB = "ec2-root-volume-gib";
    public static final String KEY_IDLE_EXIT = "worker-idle-exit";
    public static final String KEY_INSTANCE_TYPES = "ec2-instance-types";
    public static final String KEY_SPOT_FALLBACK = "ec2-spot-fallback";
    public static final String KEY_INSTANCE_REQUIREMENTS = "ec2-instance-requirements";

    /** EC2 Fleet accepts up to 300 overrides per call; types x subnets stay well below that. */
    public static final int MAX_POOLS = 300;

    /** All of them, for the config loader's list of known keys. */
    public static final List<String> KEYS = List.of(KEY_LAUNCH_TEMPLATE, KEY_LAUNCH_TEMPLATE_VERSION, KEY_AMI,
            KEY_INSTANCE_TYPE, KEY_SUBNETS, KEY_SECURITY_GROUPS, KEY_INSTANCE_PROFILE, KEY_KEY_NAME, KEY_SPOT,
            KEY_ROOT_VOLUME_GIB, KEY_IDLE_EXIT, KEY_INSTANCE_TYPES, KEY_SPOT_FALLBACK,
            KEY_INSTANCE_REQUIREMENTS);

    public static final String LATEST = "$Latest";

    /**
     * Long enough that a worker between two bursts is not lost to a short lull (the controller
     * drains idle workers itself, far sooner), short enough that a fleet left behind by a dead
     * controller costs minutes, not a night.
     */
    public static final Duration DEFAULT_IDLE_EXIT = Duration.ofMinutes(5);

    /** One SQS long poll: a worker must be allowed at least one empty receive before it gives up. */
    public static final Duration MIN_IDLE_EXIT = Duration.ofSeconds(20);
    public static final Duration MAX_IDLE_EXIT = Duration.ofDays(1);

    private static final Pattern TEMPLATE_ID = Pattern.compile("lt-[0-9a-f]{8,17}");
    private static final Pattern TEMPLATE_NAME = Pattern.compile("[a-zA-Z0-9().\\-/_]{3,128}");
    private static final Pattern TEMPLATE_VERSION = Pattern.compile("\\$Latest|\\$Default|[1-9][0-9]{0,17}");
    private static final Pattern AMI = Pattern.compile("ami-[0-9a-f]{8,17}");
    private static final Pattern INSTANCE_TYPE = Pattern.compile("[a-z][a-z0-9-]*\\.[a-z0-9-]+");
    private static final Pattern SUBNET = Pattern.compile("subnet-[0-9a-f]{8,17}");
    private static final Pattern SECURITY_GROUP = Pattern.compile("sg-[0-9a-f]{8,17}");
    private static final Pattern PROFILE_ARN =
            Pattern.compile("arn:aws[a-z-]*:iam::[0-9]{12}:instance-profile/[\\w+=,.@/-]{1,128}");
    private static final Pattern PROFILE_NAME = Pattern.compile("[\\w+=,.@-]{1,128}");
    private static final int MIN_ROOT_GIB = 8;
    private static final int MAX_ROOT_GIB = 16384;

    /**
     * Checks the combination and every value's form, so that a typo fails here in one sentence
     * instead of as an EC2 error at the first burst.
     *
     * @throws ImgscaleException naming the key and the expected form
     */
    public Ec2FleetConfig {
        StackNames.checkStack(stack);
        launchTemplate = blankToNull(launchTemplate);
        launchTemplateVersion = blankToNull(launchTemplateVersion) == null ? LATEST : launchTemplateVersion.strip();
        ami = blankToNull(ami);
        instanceType = blankToNull(instanceType);
        instanceProfile = blankToNull(instanceProfile);
        keyName = blankToNull(keyName);
        subnets = subnets == null ? List.of() : List.copyOf(subnets);
        securityGroups = securityGroups == null ? List.of() : List.copyOf(securityGroups);
        idleExit = idleExit == null ? DEFAULT_IDLE_EXIT : idleExit;
        instanceTypes = instanceTypes == null ? List.of() : List.copyOf(instanceTypes);
        checkPools(launchTemplate, instanceType, instanceTypes, instanceRequirements, subnets, spot, spotFallback);

        if (launchTemplate != null) {
            checkTemplate(launchTemplate, launchTemplateVersion, ami, instanceType, securityGroups, instanceProfile,
                    keyName, rootVolumeGib);
        } else {
            checkExplicit(ami, !instanceTypes.isEmpty() ? instanceTypes.get(0) : instanceRequirements != null ? "by.attributes"
                    : instanceType, subnets, securityGroups, instanceProfile);
        }
        checkEach(subnets, SUBNET, KEY_SUBNETS, "subnet-0123456789abcdef0");
        checkEach(securityGroups, SECURITY_GROUP, KEY_SECURITY_GROUPS, "sg-0123456789abcdef0");
        if (keyName != null && keyName.length() > 255) {
            throw new ImgscaleException(KEY_KEY_NAME + " must be an EC2 key pair name of at most 255 characters.");
        }
        if (rootVolumeGib != null && (rootVolumeGib < MIN_ROOT_GIB || rootVolumeGib > MAX_ROOT_GIB)) {
            throw new ImgscaleException(KEY_ROOT_VOLUME_GIB + " must be " + MIN_ROOT_GIB + " to " + MAX_ROOT_GIB
                    + " GiB, not " + rootVolumeGib + ".");
        }
        if (idleExit.toMillis() % 1000 != 0 || idleExit.compareTo(MIN_IDLE_EXIT) < 0
                || idleExit.compareTo(MAX_IDLE_EXIT) > 0) {
            throw new ImgscaleException(KEY_IDLE_EXIT + " must be whole seconds from " + MIN_IDLE_EXIT.toSeconds()
                    + " to " + MAX_IDLE_EXIT.toSeconds() + " (a worker must survive at least one empty 20 s poll), not "
                    + idleExit.toMillis() / 1000.0 + " s.");
        }
    }

    /** Launches from a launch template (id {@code lt-...} or name) at {@code $Latest}, into the template's network. */
    public static Ec2FleetConfig withTemplate(String stack, String launchTemplate) {
        return new Ec2FleetConfig(stack, launchTemplate, LATEST, null, null, List.of(), List.of(), null, null, false,
                null, null, List.of(), null, false);
    }

    /** Launches from explicit parameters, On-Demand, keeping the AMI's root volume and no key pair. */
    public static Ec2FleetConfig withImage(String stack, String ami, String instanceType, List<String> subnets,
                                           List<String> securityGroups, String instanceProfile) {
        return new Ec2FleetConfig(stack, null, null, ami, instanceType, subnets, securityGroups, instanceProfile,
                null, false, null, null, List.of(), null, false);
    }

    /**
     * Reads the {@code ec2-*} keys and {@code worker-idle-exit} from merged configuration values
     * (see {@link #KEYS}); the stack is {@code stack}, by default {@value StackNames#DEFAULT_STACK}.
     * Lists ({@code ec2-subnets}, {@code ec2-security-groups}) are comma-separated.
     *
     * @throws ImgscaleException when a value is missing, malformed or contradicts another
     */
    public static Ec2FleetConfig fromValues(Map<String, String> values) {
        String template = blankToNull(values.get(KEY_LAUNCH_TEMPLATE));
        if (template == null && blankToNull(values.get(KEY_AMI)) == null) {
            throw new ImgscaleException("The EC2 fleet needs either " + KEY_LAUNCH_TEMPLATE + " or " + KEY_AMI + " (with "
                    + KEY_INSTANCE_TYPE + ", " + KEY_SUBNETS + ", " + KEY_SECURITY_GROUPS + " and " + KEY_INSTANCE_PROFILE
                    + "); set them with `imgscale init` or in the config file.");
        }
        return new Ec2FleetConfig(
                values.getOrDefault("stack", StackNames.DEFAULT_STACK),
                template,
                values.get(KEY_LAUNCH_TEMPLATE_VERSION),
                values.get(KEY_AMI),
                values.get(KEY_INSTANCE_TYPE),
                commaList(values.get(KEY_SUBNETS)),
                commaList(values.get(KEY_SECURITY_GROUPS)),
                values.get(KEY_INSTANCE_PROFILE),
                values.get(KEY_KEY_NAME),
                bool(values.get(KEY_SPOT), KEY_SPOT),
                integer(values.get(KEY_ROOT_VOLUME_GIB), KEY_ROOT_VOLUME_GIB),
                seconds(values.get(KEY_IDLE_EXIT), KEY_IDLE_EXIT),
                commaList(values.get(KEY_INSTANCE_TYPES)),
                InstanceRequirements.parse(values.get(KEY_INSTANCE_REQUIREMENTS)),
                bool(values.get(KEY_SPOT_FALLBACK), KEY_SPOT_FALLBACK));
    }

    /** Whether launches use {@link #launchTemplate()} rather than explicit parameters. */
    public boolean usesLaunchTemplate() {
        return launchTemplate != null;
    }

    /** Whether launches go through EC2 Fleet over several pools ({@link #instanceTypes()} or {@link #instanceRequirements()}). */
    public boolean usesPools() {
        return !instanceTypes.isEmpty() || instanceRequirements != null;
    }

    /** Whether {@link #launchTemplate()} is an id ({@code lt-...}) rather than a name. */
    public boolean launchTemplateIsId() {
        return launchTemplate != null && TEMPLATE_ID.matcher(launchTemplate).matches();
    }

    /** Whether {@link #instanceProfile()} is an ARN rather than a name. */
    public boolean instanceProfileIsArn() {
        return instanceProfile != null && instanceProfile.startsWith("arn:");
    }

    /** Where workers read the stack's settings: {@code ssm:/imgscale/<stack>}, the one thing their user data names. */
    public String configPath() {
        return "ssm:/imgscale/" + stack;
    }

    /** The {@code Name} tag of every worker: {@code imgscale-<stack>-worker}. */
    public String instanceName() {
        return "imgscale-" + stack + "-worker";
    }

    public Ec2FleetConfig withSpot(boolean spot) {
        return with(c -> c.spot = spot);
    }

    /** Several instance types instead of one: launches go through EC2 Fleet (the single type is dropped). */
    public Ec2FleetConfig withInstanceTypes(List<String> types) {
        return with(c -> c.pools(types, instanceRequirements));
    }

    /** Instance types chosen by EC2 from a range of vCPUs and memory (the single type is dropped). */
    public Ec2FleetConfig withInstanceRequirements(InstanceRequirements requirements) {
        return with(c -> c.pools(instanceTypes, requirements));
    }

    public Ec2FleetConfig withSpotFallback(boolean fallback) {
        return with(c -> c.spotFallback = fallback);
    }

    public Ec2FleetConfig withSubnets(List<String> subnets) {
        return with(c -> c.subnets = subnets);
    }

    public Ec2FleetConfig withLaunchTemplateVersion(String version) {
        return with(c -> c.launchTemplateVersion = version);
    }

    public Ec2FleetConfig withKeyName(String keyName) {
        return with(c -> c.keyName = keyName);
    }

    public Ec2FleetConfig withRootVolumeGib(Integer gib) {
        return with(c -> c.rootVolumeGib = gib);
    }

    public Ec2FleetConfig withIdleExit(Duration idleExit) {
        return with(c -> c.idleExit = idleExit);
    }

    /** This config with what {@code change} sets, checked again as any new one. */
    private Ec2FleetConfig with(Consumer<Copy> change) {
        Copy copy = new Copy();
        change.accept(copy);
        return copy.build();
    }

    /** This config's components, to change some before making a new one: the one place the with-methods list them all. */
    private final class Copy {
        String stack = Ec2FleetConfig.this.stack;
        String launchTemplate = Ec2FleetConfig.this.launchTemplate;
        String launchTemplateVersion = Ec2FleetConfig.this.launchTemplateVersion;
        String ami = Ec2FleetConfig.this.ami;
        String instanceType = Ec2FleetConfig.this.instanceType;
        List<String> subnets = Ec2FleetConfig.this.subnets;
        List<String> securityGroups = Ec2FleetConfig.this.securityGroups;
        String instanceProfile = Ec2FleetConfig.this.instanceProfile;
        String keyName = Ec2FleetConfig.this.keyName;
        boolean spot = Ec2FleetConfig.this.spot;
        Integer rootVolumeGib = Ec2FleetConfig.this.rootVolumeGib;
        Duration idleExit = Ec2FleetConfig.this.idleExit;
        List<String> instanceTypes = Ec2FleetConfig.this.instanceTypes;
        InstanceRequirements instanceRequirements = Ec2FleetConfig.this.instanceRequirements;
        boolean spotFallback = Ec2FleetConfig.this.spotFallback;

        /** Launches over pools of these types or requirements; the single type is dropped. */
        void pools(List<String> types, InstanceRequirements requirements) {
            instanceType = null;
            instanceTypes = types;
            instanceRequirements = requirements;
        }

        Ec2FleetConfig build() {
            return new Ec2FleetConfig(stack, launchTemplate, launchTemplateVersion, ami, instanceType, subnets, securityGroups,
                    instanceProfile, keyName, spot, rootVolumeGib, idleExit, instanceTypes, instanceRequirements, spotFallback);
        }
    }

    private static void checkTemplate(String template, String version, String ami, String instanceType,
                                      List<String> securityGroups, String instanceProfile, String keyName,
                                      Integer rootVolumeGib) {
        if (!TEMPLATE_ID.matcher(template).matches() && !TEMPLATE_NAME.matcher(template).matches()) {
            throw new ImgscaleException(KEY_LAUNCH_TEMPLATE + " must be a launch template id like lt-0123456789abcdef0"
                    + " or a name of 3-128 characters (letters, digits and ().-/_), not '" + template + "'.");
        }
        if (!TEMPLATE_VERSION.matcher(version).matches()) {
            throw new ImgscaleException(KEY_LAUNCH_TEMPLATE_VERSION + " must be $Latest, $Default or a version number,"
                    + " not '" + version + "'.");
        }
        // One source of truth for each setting: a value here would silently override the template's.
        List<String> both = new ArrayList<>();
        addIf(both, ami != null, KEY_AMI);
        addIf(both, instanceType != null, KEY_INSTANCE_TYPE);
        addIf(both, !securityGroups.isEmpty(), KEY_SECURITY_GROUPS);
        addIf(both, instanceProfile != null, KEY_INSTANCE_PROFILE);
        addIf(both, keyName != null, KEY_KEY_NAME);
        addIf(both, rootVolumeGib != null, KEY_ROOT_VOLUME_GIB);
        if (!both.isEmpty()) {
            throw new ImgscaleException("With " + KEY_LAUNCH_TEMPLATE + " set, " + String.join(", ", both)
                    + " must come from the launch template: remove " + (both.size() == 1 ? "it" : "them")
                    + " from the configuration or drop the template.");
        }
    }

    private static void checkPools(String template, String instanceType, List<String> instanceTypes,
                                   InstanceRequirements requirements, List<String> subnets, boolean spot,
                                   boolean spotFallback) {
        if (spotFallback && !spot) {
            throw new ImgscaleException(KEY_SPOT_FALLBACK + " falls back from Spot to On-Demand, so it needs "
                    + KEY_SPOT + " = true; remove it or turn Spot on.");
        }
        if (instanceTypes.isEmpty() && requirements == null) {
            return;
        }
        String key = instanceTypes.isEmpty() ? KEY_INSTANCE_REQUIREMENTS : KEY_INSTANCE_TYPES;
        if (!instanceTypes.isEmpty() && requirements != null) {
            // EC2 Fleet takes either named types or attributes in one launch, not a mix.
            throw new ImgscaleException("Set either " + KEY_INSTANCE_TYPES + " or " + KEY_INSTANCE_REQUIREMENTS
                    + ", not both.");
        }
        if (instanceType != null) {
            throw new ImgscaleException("Set either " + KEY_INSTANCE_TYPE + " (one type) or " + key
                    + " (several), not both.");
        }
        if (template != null) {
            // EC2 Fleet takes user data and metadata options only from a launch template, and the fleet would
            // have to rewrite the operator's template to set them; it writes its own from explicit parameters.
            throw new ImgscaleException(key + " works with explicit parameters (" + KEY_AMI + ", "
                    + KEY_SECURITY_GROUPS + ", " + KEY_INSTANCE_PROFILE + "), not with " + KEY_LAUNCH_TEMPLATE
                    + ": drop the template, or keep one instance type in it.");
        }
        checkEach(instanceTypes, INSTANCE_TYPE, KEY_INSTANCE_TYPES, "c7i.large");
        int pools = Math.max(1, instanceTypes.size()) * Math.max(1, subnets.size());
        if (pools > MAX_POOLS) {
            throw new ImgscaleException(key + " x " + KEY_SUBNETS + " make " + pools
                    + " pools; EC2 Fleet takes at most " + MAX_POOLS + " in one launch.");
        }
    }

    private static void checkExplicit(String ami, String instanceType, List<String> subnets,
                                      List<String> securityGroups, String instanceProfile) {
        List<String> missing = new ArrayList<>();
        addIf(missing, ami == null, KEY_AMI);
        addIf(missing, instanceType == null, KEY_INSTANCE_TYPE);
        addIf(missing, subnets.isEmpty(), KEY_SUBNETS);
        addIf(missing, securityGroups.isEmpty(), KEY_SECURITY_GROUPS);
        addIf(missing, instanceProfile == null, KEY_INSTANCE_PROFILE);
        if (!missing.isEmpty()) {
            throw new ImgscaleException("Without " + KEY_LAUNCH_TEMPLATE + ", the EC2 fleet also needs "
                    + String.join(", ", missing) + ".");
        }
        if (!AMI.matcher(ami).matches()) {
            throw new ImgscaleException(KEY_AMI + " must look like ami-0123456789abcdef0, not '" + ami + "'.");
        }
        if (!INSTANCE_TYPE.matcher(instanceType).matches()) {
            throw new ImgscaleException(KEY_INSTANCE_TYPE + " must be an instance type such as c7i.large, not '"
                    + instanceType + "'.");
        }
        if (!PROFILE_ARN.matcher(instanceProfile).matches() && !PROFILE_NAME.matcher(instanceProfile).matches()) {
            throw new ImgscaleException(KEY_INSTANCE_PROFILE + " must be an instance profile name or an ARN like"
                    + " arn:aws:iam::123456789012:instance-profile/imgscale-worker, not '" + instanceProfile + "'.");
        }
    }

    private static void checkEach(List<String> ids, Pattern pattern, String key, String example) {
        for (String id : ids) {
            if (id == null || !pattern.matcher(id).matches()) {
                throw new ImgscaleException(key + " must be a comma-separated list like " + example + ", but '"
                        + id + "' is not one.");
            }
        }
        if (new HashSet<>(ids).size() != ids.size()) {
            throw new ImgscaleException(key + " lists the same id twice: " + String.join(",", ids) + ".");
        }
    }

    private static void addIf(List<String> list, boolean condition, String key) {
        if (condition) {
            list.add(key);
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    private static List<String> commaList(String value) {
        List<String> out = new ArrayList<>();
        if (value != null) {
            for (String part : value.split(",")) {
                if (!part.isBlank()) {
                    out.add(part.strip());
                }
            }
        }
        return out;
    }

    private static boolean bool(String value, String key) {
        String v = blankToNull(value);
        if (v == null) {
            return false;
        }
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw new ImgscaleException(key + " must be true or false, not '" + value + "'.");
        };
    }

    private static Integer integer(String value, String key) {
        String v = blankToNull(value);
        if (v == null) {
            return null;
        }
        try {
            return Integer.valueOf(v);
        } catch (NumberFormatException e) {
            throw new ImgscaleException(key + " must be a whole number, not '" + value + "'.", e);
        }
    }

    private static Duration seconds(String value, String key) {
        Integer n = integer(value, key);
        return n == null ? null : Duration.ofSeconds(n);
    }
}
