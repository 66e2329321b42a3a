// Bootenv `local`: how a node that netboots first reaches its installed system without a reinstall
// loop. BIOS iPXE `exit`s to the next boot device (the disk); UEFI gets a small GRUB image.

/**
 * The UEFI local-boot loader in the boot assets (built by resources/images/discovery/build.sh from
 * Debian's GRUB): it finds \EFI\BOOT\BOOTX64.EFI on any local disk and chainloads it, else returns
 * to the firmware. An `exit` alone sends edk2 on to HTTP boot over IPv4 and IPv6 (~60 s each).
 */
export const UEFI_LOCAL_LOADER = 'grub-local.efi'

/** The iPXE script of bootenv `local`; `filesUrl` is where the boot assets are served. */
export function localBootIpxeScript(bootenv: string, filesUrl: string): string {
  return [
    '#!ipxe',
    `# bootenv ${bootenv}: boot the installed system on the local disk`,
    'iseq ${platform} efi || exit',
    `chain --autofree ${filesUrl}/${UEFI_LOCAL_LOADER} || exit`,
    ''
  ].join('\n')
}
