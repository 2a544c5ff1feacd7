// Starts the gcloud Firestore emulator (its jar has no Main-Class; env.sh builds a manifest-only jar
// whose Class-Path names it). With AIFFINITY_FIRESTORE_FUNCTIONS_EMULATOR=host:port set, it also
// passes `--functions_emulator host:port`: firebase-tools passes that flag only when its functions
// emulator runs, and without it the emulator delivers no trigger events. The serving pool's events
// hub listens there instead (docs/architecture.md#serving-locally).
package aiffinity;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public final class FirestoreLauncher {
  private static final String MAIN = "com.google.cloud.datastore.emulator.firestore.CloudFirestore";

  public static void main(String[] args) throws Throwable {
    List<String> all = new ArrayList<>(Arrays.asList(args));
    String hub = System.getenv("AIFFINITY_FIRESTORE_FUNCTIONS_EMULATOR");
    boolean given = all.stream().anyMatch(a -> a.equals("--functions_emulator") || a.startsWith("--functions_emulator="));
    if (hub != null && !hub.isEmpty() && !given) {
      all.add("--functions_emulator");
      all.add(hub);
    }
    try {
      Class.forName(MAIN).getMethod("main", String[].class).invoke(null, (Object) all.toArray(new String[0]));
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
