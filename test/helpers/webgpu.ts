// WebGPU in Node for the tests: Dawn on SwiftShader's Vulkan driver (from
// Debian's chromium) when no other driver is named. Under CI a webgpu
// backend that fails to load is a failure; elsewhere its tests skip with a note.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeWebgpu } from '../../lib/backend/webgpu.ts';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// Before Dawn loads: the Vulkan loader reads it once.
if ((process.env['VK_ICD_FILENAMES'] ?? '') === '' && existsSync(SWIFTSHADER_ICD)) process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;

// The Vulkan loader complains on stderr without one (a CI container has none).
if ((process.env['XDG_RUNTIME_DIR'] ?? '') === '') process.env['XDG_RUNTIME_DIR'] = mkdtempSync(join(tmpdir(), 'xdg-'));

export const webgpuProbe = await probeWebgpu();

export const skipWebgpu = 'reason' in webgpuProbe && !process.env['CI'];

if (skipWebgpu) console.warn(`webgpu tests skipped: ${(webgpuProbe as { reason: string }).reason} (apt-get install -y chromium libvulkan1 gives SwiftShader's Vulkan)`);
