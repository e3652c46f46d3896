// The Electron fuses Ampule flips in the packaged binary (build/after-pack.cjs), as data so a test
// reads the very configuration the hook applies. Every fuse is set explicitly
// (strictlyRequireAllFuses): a fuse added by a future Electron fails the build until decided.
const { FuseV1Options, FuseVersion } = require('@electron/fuses');

/** Fuse name → value. Off: ways to run the binary as something other than Ampule. */
const FUSE_VALUES = Object.freeze({
  RunAsNode: false, // ELECTRON_RUN_AS_NODE would turn the signed binary into a plain node
  EnableNodeOptionsEnvironmentVariable: false, // NODE_OPTIONS could preload code
  EnableNodeCliInspectArguments: false, // --inspect would open a debugger on the main process
  EnableEmbeddedAsarIntegrityValidation: true, // app.asar must match the hash baked in at packaging (macOS, Windows)
  OnlyLoadAppFromAsar: true, // no loose app folder beside the asar can replace the code
  EnableCookieEncryption: true, // cookies encrypted with an OS-keychain key
  LoadBrowserProcessSpecificV8Snapshot: false,
  GrantFileProtocolExtraPrivileges: false, // we serve app://, never file://
});

/** The @electron/fuses config for one platform. */
function fuseConfig(electronPlatformName) {
  const config = {
    version: FuseVersion.V1,
    strictlyRequireAllFuses: true,
    // Flipping fuses breaks macOS's ad-hoc signature; electron-builder signs properly afterwards.
    resetAdHocDarwinSignature: electronPlatformName === 'darwin' || electronPlatformName === 'mas',
  };
  for (const [name, value] of Object.entries(FUSE_VALUES)) {
    if (!(name in FuseV1Options)) throw new Error(`unknown Electron fuse ${name}`);
    config[FuseV1Options[name]] = value;
  }
  return config;
}

module.exports = { FUSE_VALUES, fuseConfig };
