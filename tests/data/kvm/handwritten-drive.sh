#!/bin/sh
# A VM started by hand with -drive shorthands: if=virtio makes the device itself, -cdrom is an IDE
# drive, ",," is a comma inside a value.
qemu-system-x86_64 \
  -enable-kvm -m 4G -smp 4 \
  -drive file=/srv/vm/os.qcow2,if=virtio,cache=writethrough \
  -drive file=/srv/vm/scratch.img,format=raw,if=virtio,cache=directsync,aio=native \
  -drive "file=/srv/vm/data,,v2.img,format=raw,if=none,id=data,cache.direct=on,aio=io_uring" \
  -device virtio-blk-pci,drive=data,num-queues=2,queue-size=1024 \
  -cdrom /srv/iso/debian-12.iso \
  -nographic
