package dev.imgscale.daemon.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.RecordingEc2Endpoint.Call;
import dev.imgscale.daemon.aws.RecordingEc2Endpoint.Ec2Instance;
import dev.imgscale.daemon.port.FleetInstance;
import dev.imgscale.daemon.port.LaunchOutcome;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link Ec2Fleet} over several capacity pools ({@code ec2-instance-types}) and the Spot fallback,
 * through the real SDK client against {@link RecordingEc2Endpoint}: the launch template it writes,
 * the EC2 Fleet call (instant, price-capacity-optimized, every type in every subnet), per-pool
 * capacity errors in the answer, and the On-Demand fallback only when configured.
 */
class Ec2FleetPoolsTest extends Ec2BoundaryFixture {
    static List<String> ids(List<FleetInstance> instances) {
        return instances.stream().map(FleetInstance::id).toList();
    }

    @Test
    void should_launch_every_type_in_every_subnet_with_one_instant_fleet_from_its_own_template() {
        Ec2Fleet fleet = fleet(pools());

        List<FleetInstance> launched = fleet.launch(3, "pools-1");

        assertEquals(List.of(), ec2.calls("RunInstances"), "no RunInstances with several types" + evidence());
        List<Call> fleets = ec2.calls("CreateFleet");
        assertEquals(1, fleets.size(), evidence());
        Call cf = fleets.get(0);
        assertEquals("instant", cf.param("Type"), evidence());
        assertEquals("pools-1", cf.param("ClientToken"), evidence());
        assertEquals("3", cf.param("TargetCapacitySpecification.TotalTargetCapacity"), evidence());
        assertEquals("on-demand", cf.param("TargetCapacitySpecification.DefaultTargetCapacityType"), evidence());
        assertEquals("lowest-price", cf.param("OnDemandOptions.AllocationStrategy"), evidence());
        assertNull(cf.param("SpotOptions.AllocationStrategy"), evidence());
        List<String> pools = new ArrayList<>();
        for (int n = 1; cf.param("LaunchTemplateConfigs.1.Overrides." + n + ".InstanceType") != null; n++) {
            pools.add(cf.param("LaunchTemplateConfigs.1.Overrides." + n + ".InstanceType") + " "
                    + cf.param("LaunchTemplateConfigs.1.Overrides." + n + ".SubnetId"));
        }
        List<String> expected = new ArrayList<>();
        for (String t : TYPES) {
            expected.add(t + " " + SUBNET_A);
            expected.add(t + " " + SUBNET_B);
        }
        assertEquals(expected, pools, evidence());
        assertEquals(WORKER_TAGS, cf.tagSpecification("instance"), evidence());
        assertEquals(WORKER_TAGS, cf.tagSpecification("fleet"), evidence());

        // The template carries what EC2 Fleet cannot override: user data, IMDSv2, terminate, network and role.
        String template = cf.param("LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateName");
        assertTrue(template.matches("imgscale-demo-worker-[0-9a-f]{12}"), template);
        Map<String, String> t = ec2.templates().get(template);
        assertEquals(AMI, t.get("LaunchTemplateData.ImageId"), evidence());
        assertEquals(SG, t.get("LaunchTemplateData.SecurityGroupId.1"), evidence());
        assertEquals("imgscale-demo-worker", t.get("LaunchTemplateData.IamInstanceProfile.Name"), evidence());
        assertEquals("required", t.get("LaunchTemplateData.MetadataOptions.HttpTokens"), evidence());
        assertEquals("1", t.get("LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit"), evidence());
        assertEquals("terminate", t.get("LaunchTemplateData.InstanceInitiatedShutdownBehavior"), evidence());
        assertNull(t.get("LaunchTemplateData.InstanceType"), "the type comes from the overrides" + evidence());
        assertEquals(UserData.script(STACK, Ec2FleetConfig.DEFAULT_IDLE_EXIT), new String(
                Base64.getDecoder().decode(t.get("LaunchTemplateData.UserData")), StandardCharsets.UTF_8));
        Call created = new Call("CreateLaunchTemplate", t);
        assertEquals(WORKER_TAGS, created.tags("LaunchTemplateData.TagSpecification.1.Tag"), evidence());
        assertEquals("instance", t.get("LaunchTemplateData.TagSpecification.1.ResourceType"), evidence());
        assertEquals(WORKER_TAGS, created.tags("LaunchTemplateData.TagSpecification.2.Tag"), evidence());
        assertEquals("volume", t.get("LaunchTemplateData.TagSpecification.2.ResourceType"), evidence());
        assertEquals(STACK, new Call("CreateLaunchTemplate", t).tagSpecification("launch-template").get("imgscale:stack"),
                evidence());

        assertEquals(3, launched.size(), evidence());
        for (FleetInstance i : launched) {
            Ec2Instance row = ec2.instance(i.id());
            assertEquals(WORKER_TAGS, row.tags(), evidence());
            assertEquals(FleetInstance.State.PENDING, i.state());
            assertTrue(TYPES.contains(row.instanceType()), evidence());
            assertFalse(row.spot(), evidence());
        }

        fleet.launch(1, "pools-2");
        assertEquals(1, ec2.calls("CreateLaunchTemplate").size(), "the template is written once" + evidence());
        assertEquals(4, ec2.instances().size(), evidence());
    }

    @Test
    void should_reuse_the_template_a_restarted_controller_finds_and_launch_nothing_more_on_a_retry() {
        List<String> first = ids(fleet(pools()).launch(2, "retry-1"));

        Ec2Fleet restarted = fleet(pools());
        List<String> retried = ids(restarted.launch(2, "retry-1"));

        assertEquals(first, retried, evidence());
        assertEquals(2, ec2.instances().size(), evidence());
        assertEquals(2, ec2.calls("CreateLaunchTemplate").size(), evidence());
        assertEquals(1, ec2.templates().size(), "the second create found the same template" + evidence());

        // A changed configuration writes a template of its own, under another name.
        fleet(pools().withKeyName("ops")).launch(1, "retry-2");
        assertEquals(2, ec2.templates().size(), evidence());
    }

    @Test
    void should_launch_spot_with_price_capacity_optimized() {
        Ec2Fleet fleet = fleet(pools().withSpot(true));

        List<FleetInstance> launched = fleet.launch(2, "spot-pools");

        Call cf = ec2.calls("CreateFleet").get(0);
        assertEquals("spot", cf.param("TargetCapacitySpecification.DefaultTargetCapacityType"), evidence());
        assertEquals("2", cf.param("TargetCapacitySpecification.SpotTargetCapacity"), evidence());
        assertEquals("price-capacity-optimized", cf.param("SpotOptions.AllocationStrategy"), evidence());
        assertNull(cf.param("OnDemandOptions.AllocationStrategy"), evidence());
        assertTrue(launched.stream().allMatch(i -> ec2.instance(i.id()).spot()), evidence());
        assertEquals(List.of(new LaunchOutcome(fleet.recentLaunches().get(0).at(), "spot-pools", 2, 2, 0, false,
                "2 launched")), fleet.recentLaunches());
    }

    @Test
    void should_let_ec2_choose_the_types_from_a_range_of_vcpus_and_memory() {
        Ec2Fleet fleet = fleet(explicit().withInstanceRequirements(InstanceRequirements.parse(
                "vcpus=2-8,memory-gib=4-32")).withSpot(true));

        List<FleetInstance> launched = fleet.launch(2, "attributes");

        Call cf = ec2.calls("CreateFleet").get(0);
        String o = "LaunchTemplateConfigs.1.Overrides.";
        List<String> subnets = new ArrayList<>();
        for (int n = 1; cf.param(o + n + ".SubnetId") != null; n++) {
            subnets.add(cf.param(o + n + ".SubnetId"));
            assertNull(cf.param(o + n + ".InstanceType"), evidence());
            assertEquals("2", cf.param(o + n + ".InstanceRequirements.VCpuCount.Min"), evidence());
            assertEquals("8", cf.param(o + n + ".InstanceRequirements.VCpuCount.Max"), evidence());
            assertEquals("4096", cf.param(o + n + ".InstanceRequirements.MemoryMiB.Min"), evidence());
            assertEquals("32768", cf.param(o + n + ".InstanceRequirements.MemoryMiB.Max"), evidence());
        }
        assertEquals(List.of(SUBNET_A, SUBNET_B), subnets, evidence());
        assertEquals("price-capacity-optimized", cf.param("SpotOptions.AllocationStrategy"), evidence());
        assertEquals(2, launched.size(), evidence());
        assertEquals(RecordingEc2Endpoint.BY_ATTRIBUTES, ec2.instance(launched.get(0).id()).instanceType(), evidence());

        ec2.noSpotCapacity();
        ImgscaleException e = assertThrows(ImgscaleException.class, () -> fleet.launch(1, "attributes-2"));
        assertTrue(e.getMessage().startsWith("EC2 has no Spot capacity for 1 worker in any of the types of"
                + " vcpus=2-8,memory-gib=4-32 in " + SUBNET_A + "," + SUBNET_B + " in us-east-1: "), e.getMessage());
        assertTrue(e.getMessage().contains("InsufficientInstanceCapacity " + RecordingEc2Endpoint.BY_ATTRIBUTES + " "
                + SUBNET_A), e.getMessage());
    }

    @Test
    void should_take_what_one_pool_has_when_others_have_no_capacity() {
        ec2.noCapacityIn(SUBNET_A);
        Ec2Fleet fleet = fleet(pools().withSpot(true));

        List<FleetInstance> launched = fleet.launch(2, "partial");

        assertEquals(2, launched.size(), evidence());
        for (FleetInstance i : launched) {
            assertEquals(SUBNET_B, ec2.instance(i.id()).subnetId(), evidence());
        }
        LaunchOutcome outcome = fleet.recentLaunches().get(0);
        assertFalse(outcome.fellBack());
        assertTrue(outcome.note().contains("InsufficientInstanceCapacity c7i.large " + SUBNET_A), outcome.note());
    }

    @Test
    void should_not_fall_back_to_on_demand_when_spot_has_no_capacity_unless_configured() {
        ec2.noSpotCapacity();
        Ec2Fleet fleet = fleet(pools().withSpot(true));

        ImgscaleException e = assertThrows(ImgscaleException.class, () -> fleet.launch(2, "scarce"));

        assertTrue(e.getMessage().startsWith("EC2 has no Spot capacity for 2 workers in any of 6 pools (c7i.large,c6i.large,"
                + "m7i.large in " + SUBNET_A + "," + SUBNET_B + ") in us-east-1: 0 launched, 6 pool errors: "), e.getMessage());
        assertTrue(e.getMessage().contains("set ec2-spot-fallback"), e.getMessage());
        assertEquals(1, ec2.calls("CreateFleet").size(), evidence());
        assertEquals(List.of(), ec2.instances(), evidence());
        LaunchOutcome failed = fleet.recentLaunches().get(0);
        assertEquals("failed: " + e.getMessage(), failed.note());
        assertEquals(0, failed.spot() + failed.onDemand());
        assertFalse(failed.fellBack());
    }

    @Test
    void should_fall_back_to_on_demand_for_the_rest_when_configured_and_record_it() {
        ec2.noSpotCapacity();
        Ec2Fleet fleet = fleet(pools().withSpot(true).withSpotFallback(true));

        List<FleetInstance> launched = fleet.launch(2, "scarce");

        List<Call> fleets = ec2.calls("CreateFleet");
        assertEquals(2, fleets.size(), evidence());
        assertEquals("spot", fleets.get(0).param("TargetCapacitySpecification.DefaultTargetCapacityType"), evidence());
        assertEquals("on-demand", fleets.get(1).param("TargetCapacitySpecification.DefaultTargetCapacityType"), evidence());
        assertEquals("scarce-od", fleets.get(1).param("ClientToken"), evidence());
        assertEquals("2", fleets.get(1).param("TargetCapacitySpecification.TotalTargetCapacity"), evidence());
        assertEquals(2, launched.size(), evidence());
        assertTrue(launched.stream().noneMatch(i -> ec2.instance(i.id()).spot()), evidence());

        LaunchOutcome outcome = fleet.recentLaunches().get(0);
        assertEquals(2, outcome.requested());
        assertEquals(0, outcome.spot());
        assertEquals(2, outcome.onDemand());
        assertTrue(outcome.fellBack());
        assertTrue(outcome.note().contains("fell back to On-Demand for 2"), outcome.note());
        assertEquals(true, outcome.toMap().get("fellBack"));

        assertEquals(ids(launched), ids(fleet.launch(2, "scarce")), "a retry launches nothing more" + evidence());
        assertEquals(2, ec2.instances().size(), evidence());
    }

    @Test
    void should_launch_on_demand_only_for_what_spot_could_not_fill() {
        ec2.spotCapacityPerPool(1);
        Ec2FleetConfig twoPools = explicit().withInstanceTypes(List.of("c7i.large")).withSpot(true);

        List<FleetInstance> partial = fleet(twoPools).launch(5, "short");
        assertEquals(2, partial.size(), "without the fallback, what Spot had" + evidence());
        assertEquals(1, ec2.calls("CreateFleet").size(), evidence());

        ec2.clearCalls();
        Ec2Fleet fallback = fleet(twoPools.withSpotFallback(true));
        List<FleetInstance> launched = fallback.launch(5, "short-2");

        List<Call> fleets = ec2.calls("CreateFleet");
        assertEquals(2, fleets.size(), evidence());
        assertEquals("3", fleets.get(1).param("TargetCapacitySpecification.TotalTargetCapacity"), "only the rest" + evidence());
        assertEquals("on-demand", fleets.get(1).param("TargetCapacitySpecification.DefaultTargetCapacityType"), evidence());
        assertEquals(5, launched.size(), evidence());
        assertEquals(2, launched.stream().filter(i -> ec2.instance(i.id()).spot()).count(), evidence());
        LaunchOutcome outcome = fallback.recentLaunches().get(0);
        assertEquals(List.of(5, 2, 3, true), List.of(outcome.requested(), outcome.spot(), outcome.onDemand(), outcome.fellBack()));
        assertTrue(outcome.note().startsWith("Spot: 2 launched, 2 pool errors: InsufficientInstanceCapacity c7i.large "),
                outcome.note());
    }

    @Test
    void should_fall_back_with_run_instances_when_one_type_has_no_spot_capacity_in_any_subnet() {
        ec2.noSpotCapacity();
        Ec2FleetConfig one = explicit().withSpot(true);

        ImgscaleException e = assertThrows(ImgscaleException.class, () -> fleet(one).launch(1, "one-type"));
        assertTrue(e.getMessage().startsWith("EC2 has no capacity for 1 c7i.large Spot instance in "), e.getMessage());
        assertEquals(List.of(), ec2.instances(), evidence());

        ec2.clearCalls();
        Ec2Fleet fallback = fleet(one.withSpotFallback(true));
        List<FleetInstance> launched = fallback.launch(1, "one-type-2");

        // The SDK retries a 500 (InsufficientInstanceCapacity) itself: count the distinct asks.
        List<String> asks = ec2.calls("RunInstances").stream().map(c -> c.param("SubnetId") + " "
                + c.param("ClientToken") + " " + c.param("InstanceMarketOptions.MarketType")).distinct().toList();
        assertEquals(3, asks.size(), "Spot in A and B, then On-Demand: " + asks + evidence());
        assertTrue(asks.get(0).endsWith(" one-type-2 spot") && asks.get(1).endsWith(" one-type-2 spot"), asks.toString());
        assertTrue(asks.get(2).endsWith(" one-type-2-od null"), asks.toString());
        assertEquals(1, launched.size(), evidence());
        assertFalse(ec2.instance(launched.get(0).id()).spot(), evidence());
        assertTrue(fallback.recentLaunches().get(0).fellBack());
        assertEquals(1, fallback.recentLaunches().get(0).onDemand());
    }

    @Test
    void should_explain_a_permission_that_ec2_fleet_reports_per_pool() {
        ec2.failNext("CreateFleet", "UnauthorizedOperation", "You are not authorized to perform this operation.");

        ImgscaleException e = assertThrows(ImgscaleException.class, () -> fleet(pools()).launch(1, "denied"));

        assertTrue(e.getMessage().startsWith("AWS denied ec2:CreateFleet to the controller's identity"), e.getMessage());
    }

    @Test
    void should_keep_fallback_tokens_within_ec2s_limit_and_distinct() {
        String longToken = "t".repeat(64);
        String derived = PoolLauncher.fallbackToken(longToken);
        assertTrue(derived.length() <= 64, derived);
        assertFalse(derived.equals(longToken));
        assertEquals(derived, PoolLauncher.fallbackToken(longToken), "the same launch derives the same token");
        assertFalse(derived.equals(PoolLauncher.fallbackToken("u" + "t".repeat(63))));
    }
}
