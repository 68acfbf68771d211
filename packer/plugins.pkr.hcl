# The Amazon plugin, installed by `packer init packer/` (Packer 1.7 or later).
#
# Kept apart from worker.pkr.hcl on purpose: Debian's packer 1.6.6, which CI uses to check the
# template offline, predates required_plugins and has the Amazon builder built in, so CI validates
# worker.pkr.hcl alone (see .ci/run).
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.2.0"
    }
  }
}
