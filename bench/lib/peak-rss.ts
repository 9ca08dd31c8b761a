import fs from 'node:fs';
import { procStatusMb } from './server.ts';

/**
 * Peak RSS of this process over one phase: Linux lets a process reset its own high-water mark
 * (`5` into /proc/self/clear_refs, since 4.0), so a benchmark that builds its data in the same
 * process can still report the peak of the measured part alone.
 */

/** Resets the peak to the current RSS; false where the kernel does not allow it. */
export function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Peak RSS of this process in MiB since start or the last reset (VmHWM; else getrusage). */
export function peakRssMb(): number {
  try {
    return procStatusMb(process.pid, 'VmHWM');
  } catch {
    return process.resourceUsage().maxRSS / 1024;
  }
}
