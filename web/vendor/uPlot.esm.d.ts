// Types of the uPlot module the cloud serves at /console/vendor/uPlot.esm.js (from node_modules/uplot),
// for type-checking the console (web/tsconfig.json); never served.
import uPlot from 'uplot';
export default uPlot;
