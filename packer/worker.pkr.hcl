# The imgscale worker AMI: Amazon Linux 2023, Amazon Corretto 17, imgscale under /opt/imgscale, the
# stack's model(s) checked against their SHA-256 from the model catalog, and two systemd units:
# imgscale-worker.service (started by the user data the controller gives each worker) and
# imgscale-controller.service (for an instance that runs the controller). See packer/README.md.
#
#   mvn -B -DskipTests package                              # x86_64 jar; arm64: add -Djavacpp.platform=linux-arm64
#   packer init packer/
#   packer build -var region=eu-west-1 -var stack=prod packer/

variable "region" {
  type        = string
  default     = env("AWS_REGION")
  description = "Region to build the AMI in (default: AWS_REGION). AMIs are regional: build or copy one per region."
  validation {
    condition     = length(var.region) > 0
    error_message = "Set the region: -var region=eu-west-1, or AWS_REGION."
  }
}

variable "arch" {
  type        = string
  default     = "x86_64"
  description = "x86_64 (Intel/AMD) or arm64 (Graviton). The jar must carry the same platform's natives."
  validation {
    condition     = contains(["x86_64", "arm64"], var.arch)
    error_message = "The arch must be x86_64 or arm64."
  }
}

variable "instance_type" {
  type        = string
  default     = ""
  description = "Instance type of the build instance (default: c7i.large, or c7g.large for arm64). Any type of the AMI's architecture can run it later."
}

variable "stack" {
  type        = string
  default     = "imgscale"
  description = "The stack the AMI is meant for; it only names and tags the AMI (the stack a worker serves comes from its user data)."
  validation {
    # Written without regex(): Debian's packer 1.6.6, which CI validates this file with, lacks a working one.
    condition     = length(var.stack) <= 28 && substr(var.stack, 0, 1) != "-" && length([for c in split("", var.stack) : c if contains(split("", "abcdefghijklmnopqrstuvwxyz0123456789-"), c) == false]) == 0
    error_message = "The stack name must be 1-28 characters of a-z, 0-9 and '-', starting with a letter or digit."
  }
}

variable "models" {
  type        = list(string)
  default     = ["resnet50-int8"]
  description = "Catalog models baked into the AMI, so workers never download at boot. Include the stack's model (imgscale init --model)."
}

variable "jar" {
  type        = string
  default     = ""
  description = "The imgscale jar to install (default: cli/target/imgscale.jar of this checkout)."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet for the build instance (default: the default VPC's). It needs outbound HTTPS and an address Packer can reach by SSH."
}

variable "ami_regions" {
  type        = list(string)
  default     = []
  description = "Other regions to copy the finished AMI to."
}

locals {
  catalog       = jsondecode(file(abspath("${path.root}/../classifier/src/main/resources/dev/imgscale/classifier/catalog.json")))
  jar           = var.jar != "" ? var.jar : "${path.root}/../cli/target/imgscale.jar"
  instance_type = var.instance_type != "" ? var.instance_type : (var.arch == "arm64" ? "c7g.large" : "c7i.large")
  timestamp     = formatdate("YYYYMMDD-hhmmss", timestamp())

  # Each requested model by name; a name the catalog does not have fails here ("Invalid index").
  models = [for name in var.models : [for m in local.catalog.models : m if m.name == name][0]]
  # The label files those models read, through their presets.
  label_sets = distinct([for m in local.models : local.catalog.presets[m.preset].labels])
  labels     = [for name in local.label_sets : local.catalog.labelSets[name]]
  # "file url sha256" triples separated by ";", for the install script.
  assets = join(";", [for a in concat(local.models, local.labels) : "${a.file} ${a.url} ${a.sha256}"])
  # One development photo to classify at the end of the build, as a smoke test.
  smoke = [for f in local.catalog.datasets["dev-images"].files : f if f.file == "parrot.jpg"][0]
}

source "amazon-ebs" "worker" {
  region        = var.region
  instance_type = local.instance_type
  subnet_id     = var.subnet_id != "" ? var.subnet_id : null
  ssh_username  = "ec2-user"
  ami_name      = "imgscale-worker-${var.stack}-${var.arch}-${local.timestamp}"
  ami_regions   = var.ami_regions

  ami_description = "imgscale worker (${var.arch}): Amazon Linux 2023, Corretto 17, imgscale, models ${join(",", var.models)}"

  source_ami_filter {
    filters = {
      name                = "al2023-ami-2023.*-kernel-*-${var.arch}"
      architecture        = var.arch
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["amazon"]
    most_recent = true
  }

  # No metadata_options: Amazon Linux 2023 images are registered with IMDSv2 only, so the build
  # instance gets it anyway, and the fleet sets it on every worker it launches.

  tags = {
    Name             = "imgscale-worker-${var.stack}-${var.arch}"
    "imgscale:stack" = var.stack
    "imgscale:role"  = "worker-ami"
    "imgscale:arch"  = var.arch
    "imgscale:model" = join(",", var.models)
  }
  run_tags = {
    Name            = "packer imgscale-worker-${var.stack}"
    "imgscale:role" = "ami-build"
  }
}

build {
  sources = ["source.amazon-ebs.worker"]

  provisioner "file" {
    source      = abspath(local.jar)
    destination = "/tmp/imgscale.jar"
  }

  provisioner "file" {
    source      = abspath("${path.root}/../bin/imgscale")
    destination = "/tmp/imgscale-launcher"
  }

  provisioner "file" {
    source      = "${abspath(path.root)}/systemd/"
    destination = "/tmp"
  }

  provisioner "shell" {
    script          = abspath("${path.root}/scripts/install-worker.sh")
    execute_command = "chmod +x {{ .Path }}; {{ .Vars }} sudo -E bash '{{ .Path }}'"
    environment_vars = [
      "IMGSCALE_ARCH=${var.arch}",
      "IMGSCALE_ASSET_LIST=${local.assets}",
      "IMGSCALE_SMOKE_MODEL=${var.models[0]}",
      "IMGSCALE_SMOKE_IMAGE=${local.smoke.file} ${local.smoke.url} ${local.smoke.sha256}",
    ]
  }
}
