package dev.imgscale.daemon.aws;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The fixture of the tests that drive the fleet through the real SDK client against
 * {@link RecordingEc2Endpoint}, the HTTP boundary: a fresh endpoint and clients per test, closed after
 * it, and the one stack configuration they launch with. Kept in one place so that what the fleet
 * tests assert about the wire is measured against the same setup.
 */
abstract class Ec2BoundaryFixture {
    static final String STACK = "demo";
    static final String AMI = "ami-0123456789abcdef0";
    static final String SUBNET_A = "subnet-0aaaaaaaaaaaaaaaa";
    static final String SUBNET_B = "subnet-0bbbbbbbbbbbbbbbb";
    static final String SG = "sg-0123456789abcdef0";
    static final List<String> TYPES = List.of("c7i.large", "c6i.large", "m7i.large");
    static final Map<String, String> WORKER_TAGS = Map.of(
            "Name", "imgscale-demo-worker",
            "imgscale:stack", STACK,
            "imgscale:role", "worker",
            "imgscale:state", "running");

    RecordingEc2Endpoint ec2;
    AwsClients clients;

    @BeforeEach
    void startEndpoint() throws Exception {
        ec2 = RecordingEc2Endpoint.start();
        clients = new AwsClients(ec2.settings());
    }

    @AfterEach
    void stopEndpoint() {
        if (clients != null) {
            clients.close();
        }
        if (ec2 != null) {
            ec2.close();
        }
    }

    /** One instance type in two subnets, from an explicit image. */
    static Ec2FleetConfig explicit() {
        return Ec2FleetConfig.withImage(STACK, AMI, "c7i.large", List.of(SUBNET_A, SUBNET_B), List.of(SG),
                "imgscale-demo-worker");
    }

    /** {@link #explicit()} over the three capacity pools of {@link #TYPES}. */
    static Ec2FleetConfig pools() {
        return explicit().withInstanceTypes(TYPES);
    }

    Ec2Fleet fleet(Ec2FleetConfig config) {
        return new Ec2Fleet(clients.ec2(), config);
    }

    /** The calls made and the instance table, for assertion messages. */
    String evidence() {
        return "\ncalls:\n" + ec2.transcript() + "table: " + ec2.instances();
    }
}
