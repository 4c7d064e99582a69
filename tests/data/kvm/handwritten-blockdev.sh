#!/bin/bash
# A benchmark VM by hand: keyval -blockdev with inline children, a JSON -blockdev, a throttle
# filter, named node references, iothread-vq-mapping, and a -global default.
qemu-system-x86_64 -machine q35,accel=kvm -smp cpus=2,maxcpus=8 -m 2G \
  -name vm-bench \
  -object iothread,id=io0 -object iothread,id=io1 -object iothread,id=io2 \
  -blockdev driver=qcow2,node-name=sys,file.driver=file,file.filename=/var/lib/vms/bench-sys.qcow2,file.aio=native,cache.direct=on \
  -device virtio-blk-pci,drive=sys,id=sysdisk,iothread-vq-mapping.0.iothread=io0,iothread-vq-mapping.1.iothread=io1 \
  -blockdev '{"driver":"file","node-name":"data-file","filename":"/var/lib/vms/bench-data.raw","aio":"threads","cache":{"direct":true}}' \
  -blockdev driver=raw,node-name=data-fmt,file=data-file \
  -object throttle-group,id=tg0,x-iops-total=5000 \
  -blockdev driver=throttle,node-name=data-throttled,throttle-group=tg0,file=data-fmt \
  -device virtio-scsi-pci,id=vscsi,num_queues=1,iothread=io1,virtqueue_size=128 \
  -device scsi-hd,drive=data-throttled,id=datadisk,write-cache=off \
  -blockdev driver=file,node-name=scratch,filename=/var/lib/vms/scratch.img,cache.no-flush=on \
  -device scsi-hd,drive=scratch,bus=vscsi.0,id=scratchdisk \
  -global virtio-blk-pci.queue-size=512   # applies to every virtio-blk-pci
