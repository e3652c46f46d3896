// electron-builder configuration for the desktop installers (AppImage, deb, dmg, NSIS).
// Packs the staged app (build/electron-app.mjs → out/electron-app), whose native modules were
// already rebuilt for Electron, so electron-builder does not rebuild the repository's own.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const electronVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version;

/** @type {import('electron-builder').Configuration} */
module.exports = {
  appId: 'dev.ampule.desktop',
  productName: 'Ampule',
  copyright: 'Copyright © Ampule contributors',
  electronVersion,
  // An unpacked Electron of the same version, where the runtime cannot be downloaded.
  ...(process.env.ELECTRON_OVERRIDE_DIST_PATH ? { electronDist: process.env.ELECTRON_OVERRIDE_DIST_PATH } : {}),
  directories: { app: 'out/electron-app', output: 'out/installers', buildResources: 'build' },
  files: [
    'dist/**',
    'package.json',
    'node_modules/**',
    '!**/*.map',
    // better-sqlite3 at run time is its JS and one addon: not its sources or build leftovers.
    '!node_modules/better-sqlite3/{deps,src}/**',
    '!node_modules/better-sqlite3/build/{deps,Release/obj,Release/obj.target,Release/.deps}/**',
    '!node_modules/better-sqlite3/build/{*.mk,Makefile,config.gypi,Release/*.a,Release/test_extension.node}',
  ],
  asar: true,
  // Native addons must be real files on disk to be loaded.
  asarUnpack: ['node_modules/better-sqlite3/**', 'node_modules/@napi-rs/**', 'node_modules/bindings/**', 'node_modules/file-uri-to-path/**'],
  npmRebuild: false,
  nodeGypRebuild: false,
  buildDependenciesFromSource: false,
  afterPack: join(__dirname, 'after-pack.cjs'),
  icon: join(__dirname, 'icons', 'icon.png'),
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Development',
    icon: join(__dirname, 'icons'),
    maintainer: 'Ampule contributors <ampule@localhost.invalid>',
    synopsis: 'Local, encrypted, multi-tenant Prometheus remote-write store',
  },
  // The master key lives in the OS keychain: a Secret Service provider must be running
  // (@napi-rs/keyring speaks D-Bus itself, so no library dependency).
  deb: { recommends: ['gnome-keyring | kwalletmanager | keepassxc'] },
  appImage: { artifactName: '${productName}-${version}-${arch}.${ext}' },
  mac: {
    target: ['dmg'],
    category: 'public.app-category.developer-tools',
    hardenedRuntime: true,
    gatekeeperAssess: false,
  },
  dmg: { artifactName: '${productName}-${version}-${arch}.${ext}' },
  win: { target: ['nsis'] },
  nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true, artifactName: '${productName}-Setup-${version}-${arch}.${ext}' },
  publish: null,
};
