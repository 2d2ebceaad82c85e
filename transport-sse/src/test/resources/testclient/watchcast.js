/* test client */ window.Watchcast = {};
