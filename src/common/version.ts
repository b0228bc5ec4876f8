/** Version numbers berth reports. API_VERSION is what /_ping advertises (Docker 28.x). */
export const ENGINE_VERSION = '28.5.2';
export const API_VERSION = '1.51';
export const MIN_API_VERSION = '1.24';
export const BERTH_VERSION = '0.1.0';
