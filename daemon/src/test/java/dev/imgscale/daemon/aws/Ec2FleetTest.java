package dev.imgscale.daemon.aws;

import dev.imgscale.daemon.port.FleetInstance;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imgscale.classifier.ImgscaleException;
import dev.imgscale.daemon.aws.RecordingEc2Endpoint.Call;
import dev.imgscale.daemon.aws.RecordingEc2Endpoint.Ec2Instance;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@link Ec2Fleet} through the real SDK client, against {@link RecordingEc2Endpoint}: what the
 * RunInstances, DescribeInstances, CreateTags and TerminateInstances calls carry on the wire, and
 * what the fleet makes of EC2's answers and errors. Every assertion message carries the transcript
 * of the calls made.
 */
class Ec2FleetTest extends Ec2BoundaryFixture {
    Call onlyRunInstances() {
        List<Call> runs = ec2.calls("RunInstances");
        assertEquals(1, runs.size(), "RunInstances calls" + evidence());
        return runs.get(0);
    }

    @Test
    void should_send_tags_imdsv2_user_data_token_and_terminate_behaviour_when_launching() {
        Ec2Fleet fleet = fleet(explicit().withKeyName("ops"));

        List<FleetInstance> launched = fleet.launch(3, "launch-0001");

        Call run = onlyRunInstances();
        assertEquals("3", run.param("MinCount"), evidence());
        assertEquals("3", run.param("MaxCount"), evidence());
        assertEquals("launch-0001", run.param("ClientToken"), evidence());
        assertEquals(AMI, run.param("ImageId"), evidence());
        assertEquals("c7i.large", run.param("InstanceType"), evidence());
        assertTrue(Set.of(SUBNET_A, SUBNET_B).contains(run.param("SubnetId")), evidence());
        assertEquals(List.of(SG), run.list("SecurityGroupId"), evidence());
        assertEquals("imgscale-demo-worker", run.param("IamInstanceProfile.Name"), evidence());
        assertEquals("ops", run.param("KeyName"), evidence());
        assertEquals(WORKER_TAGS, run.tagSpecification("instance"), "instance tags" + evidence());
        assertEquals(WORKER_TAGS, run.tagSpecification("volume"), "volume tags" + evidence());
        assertEquals("required", run.param("MetadataOptions.HttpTokens"), "IMDSv2" + evidence());
        assertEquals("1", run.param("MetadataOptions.HttpPutResponseHopLimit"), evidence());
        assertEquals("enabled", run.param("MetadataOptions.HttpEndpoint"), evidence());
        assertEquals("enabled", run.param("MetadataOptions.InstanceMetadataTags"), evidence());
        assertEquals("terminate", run.param("InstanceInitiatedShutdownBehavior"), evidence());
        assertNull(run.param("InstanceMarketOptions.MarketType"), "On-Demand unless asked" + evidence());
        assertNull(run.param("LaunchTemplate.LaunchTemplateId"), evidence());

        String script = new String(Base64.getDecoder().decode(run.param("UserData")), StandardCharsets.UTF_8);
        assertTrue(script.startsWith("#!/bin/bash\n"), script);
        assertTrue(script.contains("IMGSCALE_WORKER_ARGS=\"--config ssm:/imgscale/demo --worker-id imds --idle-exit 300\""),
                script);
        assertEquals(UserData.script(STACK, Ec2FleetConfig.DEFAULT_IDLE_EXIT), script);

        assertEquals(3, launched.size(), "launched " + launched + evidence());
        for (FleetInstance i : launched) {
            assertEquals(FleetInstance.State.PENDING, i.state(), launched.toString());
            assertEquals(WORKER_TAGS, i.tags(), launched.toString());
            assertTrue(i.id().startsWith("i-"), launched.toString());
            assertNotNull(ec2.instance(i.id()), i.id() + evidence());
        }
        assertEquals(3, ec2.instances().size(), evidence());
    }

    @Test
    void should_ask_for_one_time_spot_instances_when_spot_is_configured() {
        fleet(explicit().withSpot(true)).launch(1, "spot-1");

        Call run = onlyRunInstances();
        assertEquals("spot", run.param("InstanceMarketOptions.MarketType"), evidence());
        assertEquals("one-time", run.param("InstanceMarketOptions.SpotOptions.SpotInstanceType"), evidence());
        assertEquals("terminate", run.param("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior"), evidence());
        assertTrue(ec2.instances().get(0).spot(), evidence());
    }

    @Test
    void should_launch_from_the_launch_template_and_still_set_what_the_fleet_depends_on() {
        fleet(Ec2FleetConfig.withTemplate(STACK, "lt-0123456789abcdef0")).launch(2, "lt-launch");
        Call byId = onlyRunInstances();
        assertEquals("lt-0123456789abcdef0", byId.param("LaunchTemplate.LaunchTemplateId"), evidence());
        assertEquals("$Latest", byId.param("LaunchTemplate.Version"), evidence());
        for (String absent : List.of("ImageId", "InstanceType", "SecurityGroupId.1", "IamInstanceProfile.Name",
                "IamInstanceProfile.Arn", "KeyName", "SubnetId", "LaunchTemplate.LaunchTemplateName")) {
            assertNull(byId.param(absent), absent + " must come from the template" + evidence());
        }
        assertEquals(WORKER_TAGS, byId.tagSpecification("instance"), evidence());
        assertEquals(WORKER_TAGS, byId.tagSpecification("volume"), evidence());
        assertEquals("required", byId.param("MetadataOptions.HttpTokens"), evidence());
        assertEquals("terminate", byId.param("InstanceInitiatedShutdownBehavior"), evidence());
        assertNotNull(byId.param("UserData"), evidence());

        ec2.clearCalls();
        fleet(Ec2FleetConfig.withTemplate(STACK, "imgscale-workers").withLaunchTemplateVersion("7")
                .withSubnets(List.of(SUBNET_A)).withSpot(true)).launch(1, "lt-launch-2");
        Call byName = onlyRunInstances();
        assertEquals("imgscale-workers", byName.param("LaunchTemplate.LaunchTemplateName"), evidence());
        assertEquals("7", byName.param("LaunchTemplate.Version"), evidence());
        assertEquals(SUBNET_A, byName.param("SubnetId"), evidence());
        assertEquals("spot", byName.param("InstanceMarketOptions.MarketType"), evidence());
    }

    @Test
    void should_launch_nothing_more_when_a_launch_is_retried_with_the_same_token() {
        Ec2Fleet fleet = fleet(explicit());

        List<String> first = ids(fleet.launch(2, "tick-42-launch"));
        List<String> retried = ids(fleet.launch(2, "tick-42-launch"));

        assertEquals(2, ec2.calls("RunInstances").size(), evidence());
        assertEquals(first, retried, "a retry answers with the first call's instances" + evidence());
        assertEquals(2, ec2.instances().size(), "nothing new was created" + evidence());

        fleet.launch(1, "tick-43-launch");
        assertEquals(3, ec2.instances().size(), "a new token launches" + evidence());
    }

    @Test
    void should_refuse_a_token_reused_for_a_different_launch() {
        Ec2Fleet fleet = fleet(explicit());
        fleet.launch(1, "reused");

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> fleet.launch(2, "reused"));

        assertTrue(e.getMessage().contains("reused"), e.getMessage());
        assertEquals(1, ec2.instances().size(), evidence());
    }

    @Test
    void should_list_only_this_stacks_workers_that_are_not_terminated() {
        String otherStack = ec2.addInstance("running", Map.of("imgscale:stack", "other", "imgscale:role", "worker"));
        String controller = ec2.addInstance("running", Map.of("imgscale:stack", STACK, "imgscale:role", "controller"));
        String untagged = ec2.addInstance("running", Map.of("Name", "someone-elses"));
        String stopped = ec2.addInstance("stopped", Map.of("imgscale:stack", STACK, "imgscale:role", "worker"));
        String leaving = ec2.addInstance("running", Map.of("imgscale:stack", STACK, "imgscale:role", "worker"));
        ec2.setState(leaving, "shutting-down");
        Ec2Fleet fleet = fleet(explicit());
        List<String> launched = ids(fleet.launch(2, "list-test"));

        ec2.pageSize = 1; // forces NextToken: three pages
        List<FleetInstance> first = fleet.list();
        List<FleetInstance> second = fleet.list();

        Set<String> expected = Set.of(launched.get(0), launched.get(1), leaving);
        assertEquals(expected, Set.copyOf(ids(first)), evidence());
        assertFalse(ids(first).contains(otherStack) || ids(first).contains(controller) || ids(first).contains(untagged)
                || ids(first).contains(stopped), evidence());
        assertEquals(Map.of(launched.get(0), FleetInstance.State.PENDING, launched.get(1), FleetInstance.State.PENDING,
                leaving, FleetInstance.State.STOPPING), states(first), "first look: still booting" + evidence());
        assertEquals(Map.of(launched.get(0), FleetInstance.State.RUNNING, launched.get(1), FleetInstance.State.RUNNING,
                leaving, FleetInstance.State.STOPPING), states(second), "second look: running" + evidence());
        assertEquals("running", second.stream().filter(i -> i.id().equals(launched.get(0))).findFirst().orElseThrow()
                .tags().get("imgscale:state"), second.toString());
        assertTrue(second.stream().allMatch(i -> i.launchedAt().getEpochSecond() > 0), second.toString());

        Call describe = ec2.calls("DescribeInstances").get(0);
        assertEquals(List.of(STACK), describe.filters().get("tag:imgscale:stack"), evidence());
        assertEquals(List.of("worker"), describe.filters().get("tag:imgscale:role"), evidence());
        assertEquals(Set.of("pending", "running", "stopping", "shutting-down"),
                Set.copyOf(describe.filters().get("instance-state-name")), evidence());
        assertEquals(6, ec2.calls("DescribeInstances").size(), "3 pages per list" + evidence());
    }

    @Test
    void should_set_the_state_tag_when_marking_draining_and_back() {
        Ec2Fleet fleet = fleet(explicit());
        List<String> ids = ids(fleet.launch(2, "drain-test"));

        fleet.markDraining(List.of(ids.get(0)), true);

        assertEquals("draining", ec2.instance(ids.get(0)).tags().get("imgscale:state"), evidence());
        assertEquals("running", ec2.instance(ids.get(1)).tags().get("imgscale:state"), evidence());
        Call tag = ec2.calls("CreateTags").get(0);
        assertEquals(List.of(ids.get(0)), tag.list("ResourceId"), evidence());
        assertEquals(Map.of("imgscale:state", "draining"), tag.tags("Tag"), evidence());
        Map<String, String> listed = fleet.list().stream()
                .collect(Collectors.toMap(FleetInstance::id, i -> i.tags().get("imgscale:state")));
        assertEquals(Map.of(ids.get(0), "draining", ids.get(1), "running"), listed, evidence());

        fleet.markDraining(List.of(ids.get(0)), false);
        assertEquals("running", ec2.instance(ids.get(0)).tags().get("imgscale:state"), evidence());
    }

    @Test
    void should_still_tag_the_others_when_one_instance_to_mark_is_gone() {
        Ec2Fleet fleet = fleet(explicit());
        List<String> ids = ids(fleet.launch(2, "drain-gone"));

        fleet.markDraining(List.of(ids.get(0), "i-0000000000000dead", ids.get(1)), true);

        assertEquals("draining", ec2.instance(ids.get(0)).tags().get("imgscale:state"), evidence());
        assertEquals("draining", ec2.instance(ids.get(1)).tags().get("imgscale:state"), evidence());
    }

    @Test
    void should_terminate_the_instances_and_accept_ids_that_are_gone() {
        Ec2Fleet fleet = fleet(explicit());
        List<String> ids = ids(fleet.launch(3, "term-test"));

        fleet.terminate(List.of(ids.get(0), "i-0000000000000dead"));

        assertNull(ec2.instance(ids.get(0)), evidence());
        assertNotNull(ec2.instance(ids.get(1)), evidence());
        List<Call> terminations = ec2.calls("TerminateInstances");
        assertEquals(1, terminations.size(), evidence());
        assertEquals(List.of(ids.get(0)), terminations.get(0).list("InstanceId"), evidence());

        // Gone between the check and the call (EC2 refuses the whole call for one missing id).
        ec2.failNext("TerminateInstances", "InvalidInstanceID.NotFound", "The instance ID 'i-x' does not exist");
        fleet.terminate(List.of(ids.get(1), ids.get(2)));
        assertEquals(List.of(), ec2.instances(), evidence());

        int before = ec2.calls("TerminateInstances").size();
        fleet.terminate(List.of());
        fleet.terminate(List.of("i-0000000000000dead"));
        assertEquals(before, ec2.calls("TerminateInstances").size(), "nothing left to terminate, no call" + evidence());
    }

    @Test
    void should_not_terminate_an_instance_of_another_stack() {
        String foreign = ec2.addInstance("running", Map.of("imgscale:stack", "other", "imgscale:role", "worker"));
        String stray = ec2.addInstance("running", Map.of("Name", "database"));

        fleet(explicit()).terminate(List.of(foreign, stray));

        assertNotNull(ec2.instance(foreign), evidence());
        assertNotNull(ec2.instance(stray), evidence());
        assertEquals(List.of(), ec2.calls("TerminateInstances"), evidence());
    }

    @Test
    void should_try_the_next_subnet_when_the_first_has_no_capacity() {
        Ec2Fleet fleet = fleet(explicit());
        String token = tokenStartingAt(fleet, SUBNET_A);
        ec2.noCapacityIn(SUBNET_A);

        List<String> launched = ids(fleet.launch(2, token));

        assertEquals(2, launched.size(), evidence());
        for (String id : launched) {
            assertEquals(SUBNET_B, ec2.instance(id).subnetId(), evidence());
        }
        List<String> tried = ec2.calls("RunInstances").stream().map(c -> c.param("SubnetId")).distinct().toList();
        assertEquals(List.of(SUBNET_A, SUBNET_B), tried, evidence());

        // Retried once subnet A has room again: EC2 refuses the token there (it launched in B), B answers.
        ec2.restoreCapacityIn(SUBNET_A);
        assertEquals(launched, ids(fleet.launch(2, token)), evidence());
        assertEquals(2, ec2.instances().size(), "the retry launched nothing" + evidence());
    }

    @Test
    void should_say_so_in_one_sentence_when_no_subnet_has_capacity() {
        Ec2Fleet fleet = fleet(explicit());
        ec2.noCapacityIn(SUBNET_A);
        ec2.noCapacityIn(SUBNET_B);

        ImgscaleException e = assertThrows(ImgscaleException.class, () -> fleet.launch(1, "no-room"));

        assertTrue(e.getMessage().startsWith("EC2 has no capacity for 1 c7i.large instance in "), e.getMessage());
        assertTrue(e.getMessage().contains(SUBNET_A) && e.getMessage().contains(SUBNET_B), e.getMessage());
        assertEquals(List.of(), ec2.instances(), evidence());
    }

    @Test
    void should_explain_an_ami_missing_from_the_region() {
        ec2.failNext("RunInstances", "InvalidAMIID.NotFound", "The image id '[" + AMI + "]' does not exist");

        ImgscaleException e = assertThrows(ImgscaleException.class, () -> fleet(explicit()).launch(1, "ami-test"));

        assertTrue(e.getMessage().startsWith("AMI " + AMI + " not found in region us-east-1: AMIs are regional, copy it"
                + " or build it there"), e.getMessage());
        assertEquals(1, ec2.calls("RunInstances").size(), "a user error is not retried" + evidence());
    }

    @Test
    void should_explain_a_refused_permission_and_an_exhausted_quota() {
        Ec2Fleet fleet = fleet(explicit());
        ec2.failNext("RunInstances", "UnauthorizedOperation", "You are not authorized to perform this operation."
                + " Encoded authorization failure message: abc");
        ImgscaleException denied = assertThrows(ImgscaleException.class, () -> fleet.launch(1, "denied"));
        assertTrue(denied.getMessage().startsWith("AWS denied ec2:RunInstances to the controller's identity"
                + " (UnauthorizedOperation)"), denied.getMessage());

        ec2.failNext("RunInstances", "VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU"
                + " limit of 32 allows");
        ImgscaleException quota = assertThrows(ImgscaleException.class, () -> fleet.launch(1, "quota"));
        assertTrue(quota.getMessage().startsWith("Your account's EC2 quota in us-east-1 does not allow more instances"
                + " (VcpuLimitExceeded): lower the controller's --max"), quota.getMessage());

        ec2.failNext("DescribeInstances", "UnauthorizedOperation", "no");
        ImgscaleException listDenied = assertThrows(ImgscaleException.class, fleet::list);
        assertTrue(listDenied.getMessage().startsWith("AWS denied ec2:DescribeInstances"), listDenied.getMessage());
        assertEquals(List.of(), ec2.instances(), evidence());
    }

    @Test
    void should_resize_the_root_volume_on_the_amis_root_device() {
        ec2.addImage(AMI, "/dev/xvda");
        Ec2Fleet fleet = fleet(explicit().withRootVolumeGib(30));

        fleet.launch(1, "disk-1");
        fleet.launch(1, "disk-2");

        Call run = ec2.calls("RunInstances").get(0);
        assertEquals("/dev/xvda", run.param("BlockDeviceMapping.1.DeviceName"), evidence());
        assertEquals("30", run.param("BlockDeviceMapping.1.Ebs.VolumeSize"), evidence());
        assertEquals("gp3", run.param("BlockDeviceMapping.1.Ebs.VolumeType"), evidence());
        assertEquals("true", run.param("BlockDeviceMapping.1.Ebs.DeleteOnTermination"), evidence());
        assertEquals(1, ec2.calls("DescribeImages").size(), "the root device is looked up once" + evidence());
    }

    @Test
    void should_explain_a_missing_ami_found_while_looking_up_its_root_device() {
        Ec2Fleet fleet = fleet(explicit().withRootVolumeGib(30)); // no image registered

        ImgscaleException e = assertThrows(ImgscaleException.class, () -> fleet.launch(1, "disk-missing"));

        assertTrue(e.getMessage().startsWith("AMI " + AMI + " not found in region us-east-1"), e.getMessage());
        assertEquals(List.of(), ec2.calls("RunInstances"), evidence());
    }

    @Test
    void should_pass_the_instance_profile_by_arn_when_given_an_arn() {
        String arn = "arn:aws:iam::123456789012:instance-profile/imgscale-worker";
        fleet(Ec2FleetConfig.withImage(STACK, AMI, "c7i.large", List.of(SUBNET_A), List.of(SG), arn)).launch(1, "arn");

        Call run = onlyRunInstances();
        assertEquals(arn, run.param("IamInstanceProfile.Arn"), evidence());
        assertNull(run.param("IamInstanceProfile.Name"), evidence());
        assertEquals(SUBNET_A, run.param("SubnetId"), evidence());
    }

    @Test
    void should_spread_launches_with_different_tokens_over_the_subnets() {
        Ec2Fleet fleet = fleet(explicit());
        for (int i = 0; i < 8; i++) {
            fleet.launch(1, "spread-" + i);
        }
        Set<String> used = ec2.instances().stream().map(Ec2Instance::subnetId).collect(Collectors.toSet());
        assertEquals(Set.of(SUBNET_A, SUBNET_B), used, evidence());
    }

    private static String tokenStartingAt(Ec2Fleet fleet, String subnet) {
        for (int i = 0; ; i++) {
            String token = "capacity-" + i;
            if (fleet.subnetOrder(token).get(0).equals(subnet)) {
                return token;
            }
        }
    }

    private static List<String> ids(List<FleetInstance> instances) {
        return instances.stream().map(FleetInstance::id).toList();
    }

    private static Map<String, FleetInstance.State> states(List<FleetInstance> instances) {
        return instances.stream().collect(Collectors.toMap(FleetInstance::id, FleetInstance::state));
    }
}
