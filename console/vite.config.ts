import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Hosting serves dist/ (firebase.json `hosting.public`); the repository's static files
// (robots.txt, the manifest's JSON Schema) come along from hosting/public.
export default defineConfig({
  plugins: [react()],
  publicDir: "../hosting/public",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      output: {
        // Libraries change less often than the app: their own long-cached files.
        codeSplitting: {
          groups: [
            { name: "firebase", test: /node_modules[\\/](@firebase|firebase)[\\/]/ },
            { name: "charts", test: /node_modules[\\/]uplot[\\/]/ },
            { name: "react", test: /node_modules[\\/](react|react-dom|react-router|scheduler|@tanstack)[\\/]/ },
          ],
        },
      },
    },
  },
});
