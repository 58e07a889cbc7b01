#!/bin/sh
# Pins apt in an image to one dated snapshot of the distribution's archive, so that the same build
# args give the same package versions on any day. Run before `apt-get update` in each stage.
#
#   apt-pin.sh SNAPSHOT        e.g. 20251229T000000Z
#
# Debian: points the archive and security sources at snapshot.debian.org (whose Release files are
# past their Valid-Until date, hence the apt option). Ubuntu (apt >= 2.7): APT::Snapshot, served by
# snapshot.ubuntu.com. NVIDIA's CUDA apt source has no snapshots and is not needed at build time: removed.
set -eu
snapshot=${1:?usage: apt-pin.sh SNAPSHOT}
echo "apt-pin: archive snapshot $snapshot"
rm -f /etc/apt/sources.list.d/cuda*.list /etc/apt/sources.list.d/cuda*.sources
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  sed -i -e "s|http://deb.debian.org/debian-security|http://snapshot.debian.org/archive/debian-security/$snapshot|" \
         -e "s|http://deb.debian.org/debian|http://snapshot.debian.org/archive/debian/$snapshot|" \
         /etc/apt/sources.list.d/debian.sources
  echo 'Acquire::Check-Valid-Until "false";' > /etc/apt/apt.conf.d/50snapshot
else
  echo "APT::Snapshot \"$snapshot\";" > /etc/apt/apt.conf.d/50snapshot
fi
