// pgjdbc through `agentdb proxy`, as DBeaver and every JVM tool connect. Run by test/e2e/client-matrix.test.ts:
//   java -cp postgresql.jar:DIR JdbcMatrix HOST PORT USER PASSWORD DATABASE
// Prints one JSON object per step: {step, ok, rows?, value?, error?: {code, message}}.
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

public class JdbcMatrix {
  interface Step {
    Map<String, Object> run() throws Exception;
  }

  public static void main(String[] a) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", a[2]);
    props.setProperty("password", a[3]);
    props.setProperty("sslmode", "disable");
    // Extra driver properties (k=v,k=v), to try a workaround by hand; the test runs the driver's defaults.
    String extra = System.getenv("JDBC_PROPS");
    if (extra != null && !extra.isEmpty()) {
      for (String kv : extra.split(",")) props.setProperty(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    }
    String url = "jdbc:postgresql://" + a[0] + ":" + a[1] + "/" + a[4];
    Connection[] conn = new Connection[1];

    step("connect", () -> {
      conn[0] = DriverManager.getConnection(url, props);
      return value(conn[0].getMetaData().getDatabaseProductVersion());
    });
    if (conn[0] == null) return;
    Connection c = conn[0];

    step("select", () -> {
      try (Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT id, name, email, phone, card_number, ssn, region FROM customers ORDER BY id LIMIT 5")) {
        return rows(rs);
      }
    });

    // pgjdbc switches to a named server-side statement at the 5th execution (prepareThreshold=5): six runs
    // cover the unnamed and the named path.
    step("prepared-6x", () -> {
      List<Object> results = new ArrayList<>();
      boolean serverPrepared = false;
      try (PreparedStatement ps = c.prepareStatement("SELECT id, name, email, ssn FROM customers WHERE id = ?")) {
        for (int id = 1; id <= 6; id++) {
          ps.setInt(1, id);
          try (ResultSet rs = ps.executeQuery()) {
            results.addAll(rowList(rs));
          }
        }
        serverPrepared = ps.unwrap(org.postgresql.PGStatement.class).isUseServerPrepare();
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("rows", results);
      out.put("value", serverPrepared);
      return out;
    });

    step("getTables", () -> {
      DatabaseMetaData md = c.getMetaData();
      try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE"})) {
        List<Object> names = new ArrayList<>();
        while (rs.next()) names.add(rs.getString("TABLE_NAME"));
        return value(names);
      }
    });

    step("getColumns", () -> {
      DatabaseMetaData md = c.getMetaData();
      try (ResultSet rs = md.getColumns(null, "public", "customers", null)) {
        List<Object> names = new ArrayList<>();
        while (rs.next()) names.add(rs.getString("COLUMN_NAME"));
        return value(names);
      }
    });

    c.close();
  }

  static void step(String name, Step body) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("step", name);
    try {
      Map<String, Object> r = body.run();
      out.put("ok", true);
      out.putAll(r);
    } catch (Exception e) {
      out.put("ok", false);
      Map<String, Object> err = new LinkedHashMap<>();
      err.put("code", e instanceof SQLException ? ((SQLException) e).getSQLState() : e.getClass().getName());
      err.put("message", String.valueOf(e.getMessage()));
      out.put("error", err);
    }
    System.out.println(json(out));
    System.out.flush();
  }

  static Map<String, Object> value(Object v) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("value", v);
    return m;
  }

  static Map<String, Object> rows(ResultSet rs) throws SQLException {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rows", rowList(rs));
    return m;
  }

  static List<Object> rowList(ResultSet rs) throws SQLException {
    ResultSetMetaData md = rs.getMetaData();
    List<Object> out = new ArrayList<>();
    while (rs.next()) {
      Map<String, Object> row = new LinkedHashMap<>();
      for (int i = 1; i <= md.getColumnCount(); i++) row.put(md.getColumnLabel(i), rs.getObject(i));
      out.add(row);
    }
    return out;
  }

  /** Enough JSON for strings, numbers, booleans, lists and maps: no library on the class path but the driver. */
  static String json(Object v) {
    if (v == null) return "null";
    if (v instanceof Number || v instanceof Boolean) return v.toString();
    if (v instanceof Map) {
      StringBuilder sb = new StringBuilder("{");
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        if (sb.length() > 1) sb.append(',');
        sb.append(json(String.valueOf(e.getKey()))).append(':').append(json(e.getValue()));
      }
      return sb.append('}').toString();
    }
    if (v instanceof List) {
      StringBuilder sb = new StringBuilder("[");
      for (Object o : (List<?>) v) {
        if (sb.length() > 1) sb.append(',');
        sb.append(json(o));
      }
      return sb.append(']').toString();
    }
    StringBuilder sb = new StringBuilder("\"");
    for (char ch : v.toString().toCharArray()) {
      if (ch == '"' || ch == '\\') sb.append('\\').append(ch);
      else if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
      else sb.append(ch);
    }
    return sb.append('"').toString();
  }
}
