// electron-builder afterPack hook: flips the fuses of build/fuses.cjs in the packed Electron binary,
// before electron-builder signs it and builds the installers.
const { join } = require('node:path');
const { flipFuses } = require('@electron/fuses');
const { fuseConfig } = require('./fuses.cjs');

/** Path of the Electron binary inside the packed app folder. */
function electronBinary(context) {
  const { appOutDir, electronPlatformName, packager } = context;
  const name = packager.appInfo.productFilename;
  switch (electronPlatformName) {
    case 'darwin':
    case 'mas':
      return join(appOutDir, `${name}.app`);
    case 'win32':
      return join(appOutDir, `${name}.exe`);
    default:
      return join(appOutDir, packager.executableName);
  }
}

exports.default = async function afterPack(context) {
  const binary = electronBinary(context);
  await flipFuses(binary, fuseConfig(context.electronPlatformName));
  console.log(`after-pack: fuses flipped in ${binary}`);
};
exports.electronBinary = electronBinary;
