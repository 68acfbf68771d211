package dev.imgscale.daemon.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link Ec2FleetConfig}: reading the {@code ec2-*} keys, and a one-sentence refusal for each mistake. */
class Ec2FleetConfigTest {

    static Map<String, String> explicit() {
        Map<String, String> v = new HashMap<>();
        v.put("stack", "demo");
        v.put("ec2-ami", "ami-0123456789abcdef0");
        v.put("ec2-instance-type", "c7i.large");
        v.put("ec2-subnets", "subnet-0aaaaaaaaaaaaaaaa, subnet-0bbbbbbbbbbbbbbbb");
        v.put("ec2-security-groups", "sg-0123456789abcdef0");
        v.put("ec2-instance-profile", "imgscale-demo-worker");
        return v;
    }

    static ImgscaleException refused(Map<String, String> values) {
        return assertThrows(ImgscaleException.class, () -> Ec2FleetConfig.fromValues(values),
                () -> "accepted " + values);
    }

    @Test
    void should_read_explicit_launch_parameters() {
        Map<String, String> v = explicit();
        v.put("ec2-key-name", "ops");
        v.put("ec2-spot", "true");
        v.put("ec2-root-volume-gib", "30");
        v.put("worker-idle-exit", "120");

        Ec2FleetConfig c = Ec2FleetConfig.fromValues(v);

        assertEquals("demo", c.stack());
        assertFalse(c.usesLaunchTemplate());
        assertEquals("ami-0123456789abcdef0", c.ami());
        assertEquals("c7i.large", c.instanceType());
        assertEquals(List.of("subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"), c.subnets());
        assertEquals(List.of("sg-0123456789abcdef0"), c.securityGroups());
        assertEquals("imgscale-demo-worker", c.instanceProfile());
        assertFalse(c.instanceProfileIsArn());
        assertEquals("ops", c.keyName());
        assertTrue(c.spot());
        assertEquals(30, c.rootVolumeGib());
        assertEquals(Duration.ofSeconds(120), c.idleExit());
        assertEquals("ssm:/imgscale/demo", c.configPath());
        assertEquals("imgscale-demo-worker", c.instanceName());
    }

    @Test
    void should_default_to_on_demand_the_amis_volume_no_key_and_five_minutes_idle_exit() {
        Ec2FleetConfig c = Ec2FleetConfig.fromValues(explicit());

        assertFalse(c.spot());
        assertNull(c.rootVolumeGib());
        assertNull(c.keyName());
        assertEquals(Duration.ofMinutes(5), c.idleExit());
    }

    @Test
    void should_read_a_launch_template_by_id_or_name() {
        Ec2FleetConfig byId = Ec2FleetConfig.fromValues(Map.of("stack", "demo", "ec2-launch-template", "lt-0123456789abcdef0"));
        assertTrue(byId.usesLaunchTemplate());
        assertTrue(byId.launchTemplateIsId());
        assertEquals("$Latest", byId.launchTemplateVersion());
        assertEquals(List.of(), byId.subnets());

        Ec2FleetConfig byName = Ec2FleetConfig.fromValues(Map.of("ec2-launch-template", "imgscale-workers",
                "ec2-launch-template-version", "4", "ec2-subnets", "subnet-0aaaaaaaaaaaaaaaa", "ec2-spot", "yes"));
        assertEquals("imgscale", byName.stack(), "the default stack");
        assertFalse(byName.launchTemplateIsId());
        assertEquals("4", byName.launchTemplateVersion());
        assertEquals(List.of("subnet-0aaaaaaaaaaaaaaaa"), byName.subnets());
        assertTrue(byName.spot());
    }

    @Test
    void should_accept_an_instance_profile_arn() {
        Map<String, String> v = explicit();
        v.put("ec2-instance-profile", "arn:aws:iam::123456789012:instance-profile/imgscale-worker");
        assertTrue(Ec2FleetConfig.fromValues(v).instanceProfileIsArn());
    }

    @Test
    void should_say_an_ami_must_look_like_one() {
        Map<String, String> v = explicit();
        v.put("ec2-ami", "ubuntu-22.04");
        assertEquals("ec2-ami must look like ami-0123456789abcdef0, not 'ubuntu-22.04'.", refused(v).getMessage());
    }

    @Test
    void should_ask_for_a_template_or_an_ami() {
        ImgscaleException e = refused(Map.of("stack", "demo"));
        assertTrue(e.getMessage().startsWith("The EC2 fleet needs either ec2-launch-template or ec2-ami"), e.getMessage());
    }

    @Test
    void should_name_every_missing_key_without_a_template() {
        ImgscaleException e = refused(Map.of("ec2-ami", "ami-0123456789abcdef0"));
        assertEquals("Without ec2-launch-template, the EC2 fleet also needs ec2-instance-type, ec2-subnets,"
                + " ec2-security-groups, ec2-instance-profile.", e.getMessage());
    }

    @Test
    void should_refuse_settings_that_belong_in_the_launch_template() {
        Map<String, String> v = explicit();
        v.put("ec2-launch-template", "lt-0123456789abcdef0");
        ImgscaleException e = refused(v);
        assertEquals("With ec2-launch-template set, ec2-ami, ec2-instance-type, ec2-security-groups, ec2-instance-profile"
                + " must come from the launch template: remove them from the configuration or drop the template.",
                e.getMessage());
    }

    @Test
    void should_refuse_malformed_ids_and_values_naming_the_key() {
        Map<String, String> cases = Map.of(
                "ec2-subnets", "subnet-0aaaaaaaaaaaaaaaa,subnet-nope",
                "ec2-security-groups", "default",
                "ec2-instance-type", "large",
                "ec2-instance-profile", "arn:aws:iam::123:role/not-a-profile",
                "ec2-spot", "maybe",
                "ec2-root-volume-gib", "2",
                "worker-idle-exit", "5",
                "stack", "Demo_Stack");
        cases.forEach((key, bad) -> {
            Map<String, String> v = explicit();
            v.put(key, bad);
            ImgscaleException e = refused(v);
            String expected = key.equals("stack") ? "stack name" : key;
            assertTrue(e.getMessage().contains(expected), key + "=" + bad + ": " + e.getMessage());
        });
    }

    @Test
    void should_refuse_a_subnet_listed_twice() {
        Map<String, String> v = explicit();
        v.put("ec2-subnets", "subnet-0aaaaaaaaaaaaaaaa,subnet-0aaaaaaaaaaaaaaaa");
        assertTrue(refused(v).getMessage().startsWith("ec2-subnets lists the same id twice"));
    }

    @Test
    void should_refuse_a_bad_launch_template_version() {
        ImgscaleException e = refused(Map.of("ec2-launch-template", "lt-0123456789abcdef0",
                "ec2-launch-template-version", "latest"));
        assertEquals("ec2-launch-template-version must be $Latest, $Default or a version number, not 'latest'.",
                e.getMessage());
    }

    @Test
    void should_list_every_key_it_reads() {
        assertEquals(List.of("ec2-launch-template", "ec2-launch-template-version", "ec2-ami", "ec2-instance-type",
                "ec2-subnets", "ec2-security-groups", "ec2-instance-profile", "ec2-key-name", "ec2-spot",
                "ec2-root-volume-gib", "worker-idle-exit", "ec2-instance-types", "ec2-spot-fallback",
                "ec2-instance-requirements"), Ec2FleetConfig.KEYS);
    }

    @Test
    void should_read_several_instance_types_and_the_spot_fallback() {
        Map<String, String> v = explicit();
        v.remove("ec2-instance-type");
        v.put("ec2-instance-types", "c7i.large, c6i.large,m7i.large");
        v.put("ec2-spot", "true");
        v.put("ec2-spot-fallback", "on");

        Ec2FleetConfig c = Ec2FleetConfig.fromValues(v);

        assertEquals(List.of("c7i.large", "c6i.large", "m7i.large"), c.instanceTypes());
        assertNull(c.instanceType());
        assertTrue(c.usesPools());
        assertTrue(c.spotFallback());
        assertFalse(Ec2FleetConfig.fromValues(explicit()).usesPools());
        assertFalse(Ec2FleetConfig.fromValues(explicit()).spotFallback());
    }

    @Test
    void should_read_attribute_based_instance_requirements() {
        Map<String, String> v = explicit();
        v.remove("ec2-instance-type");
        v.put("ec2-instance-requirements", " vcpus = 2-8 , memory-gib=4-");

        Ec2FleetConfig c = Ec2FleetConfig.fromValues(v);

        assertEquals(new InstanceRequirements(2, 8, 4096, null), c.instanceRequirements());
        assertTrue(c.usesPools());
        assertEquals("vcpus=2-8,memory-gib=4-", c.instanceRequirements().toString());
        assertEquals(new InstanceRequirements(4, 4, 1536, 1536), InstanceRequirements.parse("vcpus=4,memory-gib=1.5"));
        assertNull(InstanceRequirements.parse(" "));
    }

    @Test
    void should_refuse_malformed_instance_requirements() {
        for (String bad : List.of("vcpus=2-8", "vcpus=2-8,memory-gib=4-32,gpus=1", "vcpus=8-2,memory-gib=4",
                "vcpus=two,memory-gib=4", "vcpus=2.5,memory-gib=4", "vcpus=2,vcpus=4,memory-gib=4", "memory-gib")) {
            Map<String, String> v = explicit();
            v.remove("ec2-instance-type");
            v.put("ec2-instance-requirements", bad);
            ImgscaleException e = refused(v);
            assertTrue(e.getMessage().startsWith("ec2-instance-requirements must be like vcpus=2-8,memory-gib=4-32: "),
                    bad + ": " + e.getMessage());
        }
        Map<String, String> both = explicit();
        both.remove("ec2-instance-type");
        both.put("ec2-instance-types", "c6i.large");
        both.put("ec2-instance-requirements", "vcpus=2,memory-gib=4");
        assertEquals("Set either ec2-instance-types or ec2-instance-requirements, not both.", refused(both).getMessage());
    }

    @Test
    void should_refuse_contradicting_pool_and_fallback_settings() {
        Map<String, String> both = explicit();
        both.put("ec2-instance-types", "c6i.large,m7i.large");
        assertEquals("Set either ec2-instance-type (one type) or ec2-instance-types (several), not both.",
                refused(both).getMessage());

        Map<String, String> template = new HashMap<>(Map.of("ec2-launch-template", "lt-0123456789abcdef0",
                "ec2-instance-types", "c6i.large,m7i.large"));
        assertTrue(refused(template).getMessage().startsWith("ec2-instance-types works with explicit parameters"),
                refused(template).getMessage());

        Map<String, String> fallbackOnly = explicit();
        fallbackOnly.put("ec2-spot-fallback", "true");
        assertEquals("ec2-spot-fallback falls back from Spot to On-Demand, so it needs ec2-spot = true; remove it or"
                + " turn Spot on.", refused(fallbackOnly).getMessage());

        Map<String, String> typo = explicit();
        typo.remove("ec2-instance-type");
        typo.put("ec2-instance-types", "c6i.large,C7I LARGE");
        assertEquals("ec2-instance-types must be a comma-separated list like c7i.large, but 'C7I LARGE' is not one.",
                refused(typo).getMessage());

        Map<String, String> twice = explicit();
        twice.remove("ec2-instance-type");
        twice.put("ec2-instance-types", "c6i.large,c6i.large");
        assertTrue(refused(twice).getMessage().startsWith("ec2-instance-types lists the same id twice"),
                refused(twice).getMessage());

        Map<String, String> badBool = explicit();
        badBool.put("ec2-spot", "true");
        badBool.put("ec2-spot-fallback", "maybe");
        assertEquals("ec2-spot-fallback must be true or false, not 'maybe'.", refused(badBool).getMessage());
    }
}
