// @ts-check
// The capability handlers of this runtime. Each one is registered under an id the manifest
// (aiffinity.json) declares; the SDK checks parameters against the capability's inputSchema before
// the handler runs and `data` against its outputSchema before it is sent.
"use strict";

/** @typedef {{ location: string, days?: number }} ForecastParameters */
/** @typedef {{ date: string, highC: number, lowC: number, condition: string }} ForecastDay */
/** @typedef {{ location: string, days: ForecastDay[] }} Forecast */

const CONDITIONS = ["sunny", "partly_cloudy", "cloudy", "rain", "showers", "snow"];

/**
 * A deterministic forecast: the same location and day always give the same weather. Replace it
 * with a call to your data source.
 * @param {string} location
 * @param {number} days
 * @returns {ForecastDay[]}
 */
function forecast(location, days, from = new Date()) {
  const seed = [...location.toLowerCase()].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  const start = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  return Array.from({ length: days }, (_, i) => {
    const date = new Date(start + i * 86_400_000).toISOString().slice(0, 10);
    const h = (seed + (start / 86_400_000 + i) * 2654435761) >>> 0;
    const high = 5 + (h % 25);
    return { date, highC: high, lowC: high - 4 - (h % 6), condition: CONDITIONS[h % CONDITIONS.length] ?? "sunny" };
  });
}

/**
 * Registers the handlers on a runtime made with createRuntime().
 * @param {import("@aiffinity/provider-sdk").Runtime} runtime
 */
function register(runtime) {
  /** @type {import("@aiffinity/provider-sdk").CapabilityHandler<ForecastParameters, Forecast>} */
  const weatherForecast = ({ parameters }) => ({
    data: { location: parameters.location, days: forecast(parameters.location, parameters.days ?? 3) },
    ttlSeconds: 1800,
  });
  runtime.capability("weather_forecast", weatherForecast);
  return runtime;
}

module.exports = { forecast, register };
