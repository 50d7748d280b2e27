class T{}
